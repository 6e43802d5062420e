// The claim check tree's operators, one rule per test, read through the config parser as a user
// writes them and judged by evaluateRequirements: negation, inequality, anchored linear-time
// `matches`, `endsWith` for email domains, numeric comparisons and scope-string sets. Type confusion
// (a list for a string, "5" for 5, a missing claim) never passes a positive operator.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { compileRequirements } from "../../src/core/compileRequirements.ts";
import { evaluateRequirements } from "../../src/core/evaluateRequirements.ts";

const PROVIDERS = { demo: { issuer: "https://idp.example.com", audiences: ["api"] } };

function parse(claims: unknown) {
  return parseConfig({
    providers: PROVIDERS,
    routes: [{ name: "api", match: { path: "/api" }, auth: "required", require: { claims } }],
  });
}

function passes(check: unknown, claims: Record<string, unknown>): boolean {
  const result = parse(check);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  const req = compileRequirements(result.config.routes[0]?.require);
  if (req === null) throw new Error("expected requirements");
  return evaluateRequirements(req, { claims, roles: [], now: 1_800_000_000 }).ok;
}

function problems(check: unknown): string[] {
  const result = parse(check);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe("not", () => {
  it("passes when its check fails and fails when its check passes", () => {
    const tree = { not: { claim: "status", equals: "suspended" } };
    expect(passes(tree, { status: "active" })).toBe(true);
    expect(passes(tree, { status: "suspended" })).toBe(false);
  });

  it("passes for a missing claim (nothing equals it), so pair it with exists where the claim must be there", () => {
    expect(passes({ not: { claim: "status", equals: "suspended" } }, {})).toBe(true);
    const strict = { all: [{ claim: "status", exists: true }, { not: { claim: "status", equals: "suspended" } }] };
    expect(passes(strict, {})).toBe(false);
  });

  it("names the check it negates when it fails, never the token's value", () => {
    const result = parse({ not: { claim: "status", equals: "suspended" } });
    if (!result.ok) throw new Error("parse");
    const req = compileRequirements(result.config.routes[0]?.require);
    const outcome = evaluateRequirements(req!, { claims: { status: "suspended" }, roles: [], now: 0 });
    expect(outcome).toEqual({ ok: false, kind: "forbidden", detail: "claims: not(status equals)" });
  });
});

describe("notEquals and notOneOf", () => {
  it('notEquals compares by type: 5 is not "5"', () => {
    expect(passes({ claim: "tier", notEquals: 5 }, { tier: "5" })).toBe(true);
    expect(passes({ claim: "tier", notEquals: 5 }, { tier: 5 })).toBe(false);
  });

  it("notOneOf passes a value outside the list and a list claim (not a scalar in it)", () => {
    const tree = { claim: "org", notOneOf: ["evil", "blocked"] };
    expect(passes(tree, { org: "acme" })).toBe(true);
    expect(passes(tree, { org: "evil" })).toBe(false);
    expect(passes(tree, { org: ["evil"] })).toBe(true);
  });
});

describe("matches", () => {
  const tree = { claim: "email", matches: "^[a-z.]+@example\\.com$" };

  it("passes a string claim the whole pattern matches", () => {
    expect(passes(tree, { email: "ada.l@example.com" })).toBe(true);
    expect(passes(tree, { email: "ada@example.com.evil.org" })).toBe(false);
  });

  it("never matches a list, a number or a missing claim", () => {
    expect(passes(tree, { email: ["ada@example.com"] })).toBe(false);
    expect(passes({ claim: "n", matches: "^[0-9]+$" }, { n: 42 })).toBe(false);
    expect(passes(tree, {})).toBe(false);
  });

  it("is refused unanchored, with the key path and the fix", () => {
    expect(problems({ claim: "email", matches: "@example\\.com" })).toEqual([
      'routes[0].require.claims.matches: must be anchored: start with "^" and end with "$" (the whole claim value must match) (got "@example\\\\.com")',
    ]);
  });

  it("is refused when the linear-time engine cannot run it (a backreference)", () => {
    const [problem] = problems({ claim: "email", matches: "^(a)\\1$" });
    expect(problem).toContain("routes[0].require.claims.matches: cannot run in linear time");
    expect(problem).toContain("remove the backreference");
  });

  it("runs a pattern that backtracks exponentially elsewhere in linear time", () => {
    const started = performance.now();
    expect(passes({ claim: "x", matches: "^(a+)+$" }, { x: `${"a".repeat(4000)}!` })).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("endsWith", () => {
  const tree = { claim: "email", endsWith: "@example.com" };

  it("passes an address at the domain, whatever the letter case of the domain", () => {
    expect(passes(tree, { email: "ada@example.com" })).toBe(true);
    expect(passes(tree, { email: "ada@EXAMPLE.com" })).toBe(true);
  });

  it("fails another domain that merely ends the same way only with the @ included", () => {
    expect(passes(tree, { email: "ada@evil-example.com" })).toBe(false);
    expect(passes(tree, { email: ["ada@example.com"] })).toBe(false);
    expect(passes(tree, {})).toBe(false);
  });
});

describe("numeric comparisons", () => {
  it("compare a number claim with greaterThan, atLeast, lessThan and atMost", () => {
    expect(passes({ claim: "level", greaterThan: 2 }, { level: 3 })).toBe(true);
    expect(passes({ claim: "level", greaterThan: 2 }, { level: 2 })).toBe(false);
    expect(passes({ claim: "level", atLeast: 2 }, { level: 2 })).toBe(true);
    expect(passes({ claim: "level", lessThan: 2 }, { level: 1.5 })).toBe(true);
    expect(passes({ claim: "level", atMost: 2 }, { level: 3 })).toBe(false);
  });

  it("never compare a string, a boolean, a list or a missing claim, whichever way", () => {
    for (const level of ["3", true, [3], null]) {
      expect(passes({ claim: "level", greaterThan: 0 }, { level })).toBe(false);
      expect(passes({ claim: "level", lessThan: 100 }, { level })).toBe(false);
    }
    expect(passes({ claim: "level", atMost: 100 }, {})).toBe(false);
  });

  it("refuse a non-numeric operand with the key path", () => {
    expect(problems({ claim: "level", atLeast: "2" })).toEqual([
      'routes[0].require.claims.atLeast: must be a number (a claim compares only when it is a JSON number too) (got "2")',
    ]);
  });
});

describe("set operators", () => {
  it("read a space-separated scope string as a set, where contains compares the whole string", () => {
    expect(
      passes({ claim: "scope", hasAll: ["orders.read", "orders.write"] }, { scope: "openid orders.write orders.read" }),
    ).toBe(true);
    expect(passes({ claim: "scope", contains: "orders.read" }, { scope: "openid orders.read" })).toBe(false);
  });

  it("hasAll needs every member, hasAny one, hasNone none", () => {
    const claims = { scope: "a b" };
    expect(passes({ claim: "scope", hasAll: ["a", "c"] }, claims)).toBe(false);
    expect(passes({ claim: "scope", hasAny: ["c", "b"] }, claims)).toBe(true);
    expect(passes({ claim: "scope", hasNone: ["admin"] }, claims)).toBe(true);
    expect(passes({ claim: "scope", hasNone: ["b"] }, claims)).toBe(false);
  });

  it("read a list claim's string members and never a prefix of a member", () => {
    expect(passes({ claim: "groups", hasAny: ["ops"] }, { groups: ["ops", 7] })).toBe(true);
    expect(passes({ claim: "scope", hasAny: ["api"] }, { scope: "api.read" })).toBe(false);
    expect(passes({ claim: "scope", hasAny: ["read"] }, { scope: "api.read" })).toBe(false);
    expect(passes({ claim: "scope", hasAny: ["a"] }, { scope: "xa ax a" })).toBe(true);
  });

  it("treat a missing or non-string claim as the empty set", () => {
    expect(passes({ claim: "scope", hasAny: ["a"] }, {})).toBe(false);
    expect(passes({ claim: "scope", hasAll: ["a"] }, { scope: 5 })).toBe(false);
    expect(passes({ claim: "scope", hasNone: ["a"] }, {})).toBe(true);
  });

  it("refuse a member with a space, which a space-separated set could never hold", () => {
    expect(problems({ claim: "scope", hasAny: ["a b"] })).toEqual([
      'routes[0].require.claims.hasAny[0]: must be a name without spaces (a set member, such as a scope) (got "a b")',
    ]);
  });
});

describe("tree shapes", () => {
  it("refuses two operators in one leaf and not beside another key", () => {
    expect(problems({ claim: "a", notEquals: 1, atLeast: 2 })[0]).toContain("has notEquals and atLeast");
    expect(problems({ not: { claim: "a", exists: true }, claim: "b" })[0]).toContain("has not and claim");
  });
});
