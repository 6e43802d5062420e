import { describe, expect, it } from "vitest";
import type { RequirementsConfig } from "../../src/config/PortcullisConfig.ts";
import { compileRequirements, type CompiledRequirements } from "../../src/core/compileRequirements.ts";
import { clientIdOf, evaluateRequirements, isMachinePrincipal } from "../../src/core/evaluateRequirements.ts";
import { readScopes } from "../../src/identity/readScopes.ts";
import { NO_REQUIREMENTS } from "../harness/noRequirements.ts";

const NOW = 1_800_000_000;

function compiled(parts: Partial<RequirementsConfig>): CompiledRequirements {
  const req = compileRequirements({ ...NO_REQUIREMENTS, ...parts });
  if (req === null) throw new Error("expected requirements");
  return req;
}

function check(parts: Partial<RequirementsConfig>, claims: Record<string, unknown>, roles: string[] = []) {
  return evaluateRequirements(compiled(parts), { claims, roles, now: NOW });
}

const person = { sub: "u-1", email: "ada@example.com", client_id: "web" };

describe("compileRequirements", () => {
  it("compiles a block that requires nothing to null", () => {
    expect(compileRequirements({ ...NO_REQUIREMENTS })).toBeNull();
    expect(compileRequirements(undefined)).toBeNull();
  });
});

describe("scopes", () => {
  it("passes when the space-separated scope claim has every required scope", () => {
    expect(check({ scopes: ["api.read", "api.write"] }, { scope: "openid api.write api.read" })).toEqual({ ok: true });
  });

  it("reads scopes from an scp list and from an scp string", () => {
    expect(check({ scopes: ["api.read"] }, { scp: ["api.read"] })).toEqual({ ok: true });
    expect(check({ scopes: ["api.read"] }, { scp: "api.read other" })).toEqual({ ok: true });
  });

  it("denies with insufficient_scope listing every scope the route requires and the ones missing", () => {
    const outcome = check({ scopes: ["api.read", "api.write"] }, { scope: "api.read" });
    expect(outcome).toEqual({
      ok: false,
      kind: "insufficient_scope",
      scopes: ["api.read", "api.write"],
      missing: ["api.write"],
      detail: "scopes: missing api.write",
    });
  });

  it("does not take a scope from a prefix of another scope", () => {
    expect(check({ scopes: ["api"] }, { scope: "api.read" })).toMatchObject({ ok: false, kind: "insufficient_scope" });
  });

  it("merges scope and scp and ignores non-string entries", () => {
    expect([...readScopes({ scope: "a b", scp: ["c", 5, "", "a"] })].sort()).toEqual(["a", "b", "c"]);
    expect([...readScopes({ scope: 7 })]).toEqual([]);
  });
});

describe("roles and groups", () => {
  it("passes anyOf with one of the roles and denies with none", () => {
    const roles = { anyOf: ["admin", "ops"], allOf: [] };
    expect(check({ roles }, person, ["ops"])).toEqual({ ok: true });
    expect(check({ roles }, person, ["dev"])).toEqual({
      ok: false,
      kind: "forbidden",
      detail: "roles: none of admin, ops",
    });
  });

  it("passes allOf only with every role", () => {
    const roles = { anyOf: [], allOf: ["admin", "ops"] };
    expect(check({ roles }, person, ["ops", "admin", "x"])).toEqual({ ok: true });
    expect(check({ roles }, person, ["admin"])).toEqual({ ok: false, kind: "forbidden", detail: "roles: missing ops" });
  });

  it("needs both anyOf and allOf when both are given", () => {
    const roles = { anyOf: ["a", "b"], allOf: ["c"] };
    expect(check({ roles }, person, ["b", "c"])).toEqual({ ok: true });
    expect(check({ roles }, person, ["c"])).toMatchObject({ ok: false, kind: "forbidden" });
    expect(check({ roles }, person, ["a"])).toMatchObject({ ok: false, kind: "forbidden" });
  });

  it("reads groups from the groups claim, a list or a single name", () => {
    const groups = { anyOf: [], allOf: ["eng"] };
    expect(check({ groups }, { ...person, groups: ["eng", "ops"] })).toEqual({ ok: true });
    expect(check({ groups }, { ...person, groups: "eng" })).toEqual({ ok: true });
    expect(check({ groups }, { ...person, groups: ["engineering"] })).toEqual({
      ok: false,
      kind: "forbidden",
      detail: "groups: missing eng",
    });
    expect(check({ groups }, person, ["eng"])).toMatchObject({ ok: false, kind: "forbidden" });
  });
});

describe("audiences and clients", () => {
  it("passes when aud, a string or a list, includes one of the audiences", () => {
    expect(check({ audiences: ["api://orders", "x"] }, { aud: "api://orders" })).toEqual({ ok: true });
    expect(check({ audiences: ["api://orders"] }, { aud: ["web", "api://orders"] })).toEqual({ ok: true });
    expect(check({ audiences: ["api://orders"] }, { aud: ["web"] })).toEqual({
      ok: false,
      kind: "forbidden",
      detail: "audiences: aud includes none of api://orders",
    });
  });

  it("admits only the listed clients, by client_id or else azp", () => {
    expect(check({ clients: ["demo-cli"] }, { client_id: "demo-cli" })).toEqual({ ok: true });
    expect(check({ clients: ["demo-cli"] }, { azp: "demo-cli" })).toEqual({ ok: true });
    expect(check({ clients: ["demo-cli"] }, { client_id: "other", azp: "demo-cli" })).toMatchObject({
      ok: false,
      kind: "forbidden",
    });
    expect(check({ clients: ["demo-cli"] }, { sub: "u" })).toEqual({
      ok: false,
      kind: "forbidden",
      detail: "clients: token names no client_id or azp",
    });
  });

  it("never puts the token's client id in the detail", () => {
    const outcome = check({ clients: ["demo-cli"] }, { client_id: "attacker-controlled-name" });
    expect(outcome.ok === false && outcome.detail).not.toContain("attacker");
  });

  it("reads the client id from client_id first, then azp, ignoring empty values", () => {
    expect(clientIdOf({ client_id: "a", azp: "b" })).toBe("a");
    expect(clientIdOf({ client_id: "", azp: "b" })).toBe("b");
    expect(clientIdOf({ client_id: 5 })).toBeNull();
    expect(clientIdOf({})).toBeNull();
  });
});

describe("principal", () => {
  const machines: [string, Record<string, unknown>][] = [
    ["no sub", { client_id: "batch" }],
    ["an empty sub", { sub: "", client_id: "batch" }],
    ["sub equal to client_id", { sub: "batch", client_id: "batch" }],
    ["sub equal to azp", { sub: "batch", azp: "batch" }],
  ];
  const people: [string, Record<string, unknown>][] = [
    ["a user sub", { sub: "u-1", client_id: "web" }],
    ["sub equal to client_id but an email", { sub: "batch", client_id: "batch", email: "x@example.com" }],
    ["sub equal to azp but a preferred_username", { sub: "batch", azp: "batch", preferred_username: "x" }],
  ];

  it.each(machines)("reads a token with %s as a machine's", (_name, claims) => {
    expect(isMachinePrincipal(claims)).toBe(true);
    expect(check({ principal: "client" }, claims)).toEqual({ ok: true });
    expect(check({ principal: "user" }, claims)).toEqual({
      ok: false,
      kind: "forbidden",
      detail: "principal: route admits people only, got a machine token",
    });
  });

  it.each(people)("reads a token with %s as a person's", (_name, claims) => {
    expect(isMachinePrincipal(claims)).toBe(false);
    expect(check({ principal: "user" }, claims)).toEqual({ ok: true });
    expect(check({ principal: "client" }, claims)).toMatchObject({ ok: false, kind: "forbidden" });
  });
});

describe("claim trees", () => {
  const claims = {
    ...person,
    tenant: "acme",
    org: { tier: "gold", size: 5 },
    groups: ["eng", "ops"],
    email_verified: true,
    level: 3,
    "https://example.com/region": "eu",
  };
  const cases: [string, RequirementsConfig["claims"], boolean][] = [
    ["equals on a string", { claim: "tenant", equals: "acme" }, true],
    ["equals failing", { claim: "tenant", equals: "globex" }, false],
    ["equals compares type as well as value", { claim: "level", equals: "3" }, false],
    ["equals on a boolean", { claim: "email_verified", equals: true }, true],
    ["equals on a dotted path", { claim: "org.tier", equals: "gold" }, true],
    ["equals on a URL claim name with dots", { claim: "https://example.com/region", equals: "eu" }, true],
    ["oneOf with the value", { claim: "org.tier", oneOf: ["gold", "silver"] }, true],
    ["oneOf without the value", { claim: "org.tier", oneOf: ["bronze"] }, false],
    ["oneOf never matches a list claim", { claim: "groups", oneOf: ["eng"] }, false],
    ["oneOf on a number", { claim: "org.size", oneOf: [4, 5] }, true],
    ["contains on a list", { claim: "groups", contains: "eng" }, true],
    ["contains failing on a list", { claim: "groups", contains: "sales" }, false],
    ["contains on a single value", { claim: "tenant", contains: "acme" }, true],
    ["contains on a missing claim", { claim: "nope", contains: "x" }, false],
    ["exists true on a present claim", { claim: "email_verified", exists: true }, true],
    ["exists true on a missing claim", { claim: "phone", exists: true }, false],
    ["exists false on a missing claim", { claim: "phone", exists: false }, true],
    ["exists false on a present claim", { claim: "tenant", exists: false }, false],
    ["exists never reaches the prototype", { claim: "constructor", exists: true }, false],
    ["exists never reaches __proto__ members", { claim: "__proto__.toString", exists: true }, false],
    [
      "all with every child passing",
      {
        all: [
          { claim: "tenant", equals: "acme" },
          { claim: "groups", contains: "eng" },
        ],
      },
      true,
    ],
    [
      "all with one child failing",
      {
        all: [
          { claim: "tenant", equals: "acme" },
          { claim: "groups", contains: "sales" },
        ],
      },
      false,
    ],
    [
      "any with one child passing",
      {
        any: [
          { claim: "tenant", equals: "globex" },
          { claim: "groups", contains: "ops" },
        ],
      },
      true,
    ],
    [
      "any with no child passing",
      {
        any: [
          { claim: "tenant", equals: "globex" },
          { claim: "groups", contains: "sales" },
        ],
      },
      false,
    ],
    [
      "nested any inside all",
      {
        all: [
          { claim: "email_verified", exists: true },
          {
            any: [
              { claim: "org.tier", oneOf: ["platinum"] },
              {
                all: [
                  { claim: "tenant", equals: "acme" },
                  { claim: "level", equals: 3 },
                ],
              },
            ],
          },
        ],
      },
      true,
    ],
    [
      "nested all inside any failing",
      {
        any: [
          { claim: "org.tier", oneOf: ["platinum"] },
          {
            all: [
              { claim: "tenant", equals: "acme" },
              { claim: "level", equals: 4 },
            ],
          },
        ],
      },
      false,
    ],
  ];

  it.each(cases)("evaluates %s", (_name, tree, passes) => {
    const outcome = check({ claims: tree }, claims);
    expect(outcome.ok).toBe(passes);
    if (!outcome.ok) expect(outcome.kind).toBe("forbidden");
  });

  it("names the failing claim and operator in the detail, never the token's value", () => {
    const outcome = check(
      { claims: { all: [{ claim: "tenant", equals: "globex" }] } },
      { ...claims, tenant: "secret-tenant-value" },
    );
    expect(outcome).toEqual({ ok: false, kind: "forbidden", detail: "claims: tenant equals" });
    const any = check(
      {
        claims: {
          any: [
            { claim: "tenant", equals: "x" },
            { claim: "org.tier", oneOf: ["y"] },
          ],
        },
      },
      claims,
    );
    expect(any).toEqual({
      ok: false,
      kind: "forbidden",
      detail: "claims: none of any(tenant equals | org.tier oneOf)",
    });
  });
});

describe("step-up", () => {
  const strong = { ...person, acr: "urn:portcullis:loa:2", amr: ["pwd", "otp"], auth_time: NOW - 60 };

  it("passes when acr, amr and auth_time all meet the route", () => {
    expect(check({ acr: ["urn:portcullis:loa:2", "urn:portcullis:loa:3"], amr: ["otp"], maxAge: 300 }, strong)).toEqual(
      { ok: true },
    );
  });

  it("asks for step-up with the route's acr values when the acr is missing or another", () => {
    const req = { acr: ["urn:portcullis:loa:2"], maxAge: 300 };
    const expected = { ok: false, kind: "step_up", acrValues: ["urn:portcullis:loa:2"], maxAge: 300 };
    expect(check(req, { ...strong, acr: "urn:portcullis:loa:1" })).toMatchObject(expected);
    expect(check(req, { ...strong, acr: undefined })).toMatchObject(expected);
  });

  it("asks for step-up when an amr entry is missing, with null acr values when the route sets none", () => {
    expect(check({ amr: ["otp", "hwk"] }, strong)).toEqual({
      ok: false,
      kind: "step_up",
      acrValues: null,
      maxAge: null,
      detail: "step-up: amr lacks hwk",
    });
    expect(check({ amr: ["otp"] }, { ...strong, amr: "otp" })).toEqual({ ok: true });
  });

  it("asks for step-up when the authentication is older than maxAge, and not at the limit", () => {
    expect(check({ maxAge: 300 }, { ...strong, auth_time: NOW - 300 })).toEqual({ ok: true });
    expect(check({ maxAge: 300 }, { ...strong, auth_time: NOW - 301 })).toEqual({
      ok: false,
      kind: "step_up",
      acrValues: null,
      maxAge: 300,
      detail: "step-up: authentication older than maxAge 300 s",
    });
  });

  it("asks for step-up when maxAge is set and the token has no usable auth_time", () => {
    expect(check({ maxAge: 300 }, { ...strong, auth_time: undefined })).toMatchObject({
      ok: false,
      kind: "step_up",
      maxAge: 300,
    });
    expect(check({ maxAge: 300 }, { ...strong, auth_time: "1800000000" })).toMatchObject({
      ok: false,
      kind: "step_up",
    });
  });
});

describe("evaluation order", () => {
  it("reports a missing scope before a step-up, so a new login is not asked for in vain", () => {
    const outcome = check({ scopes: ["api.write"], acr: ["urn:portcullis:loa:2"] }, { ...person, scope: "api.read" });
    expect(outcome).toMatchObject({ ok: false, kind: "insufficient_scope" });
  });

  it("reports a failed role before a missing scope", () => {
    const outcome = check(
      { scopes: ["api.write"], roles: { anyOf: ["admin"], allOf: [] } },
      { ...person, scope: "api.read" },
      [],
    );
    expect(outcome).toMatchObject({ ok: false, kind: "forbidden" });
  });

  it("passes a caller who meets every part", () => {
    const outcome = check(
      {
        scopes: ["api.read"],
        roles: { anyOf: ["admin"], allOf: [] },
        groups: { anyOf: ["eng"], allOf: [] },
        audiences: ["api"],
        clients: ["web"],
        principal: "user",
        claims: { claim: "tenant", equals: "acme" },
        acr: ["loa2"],
        amr: ["otp"],
        maxAge: 60,
      },
      {
        ...person,
        scope: "api.read",
        groups: ["eng"],
        aud: "api",
        tenant: "acme",
        acr: "loa2",
        amr: ["otp"],
        auth_time: NOW,
      },
      ["admin"],
    );
    expect(outcome).toEqual({ ok: true });
  });
});
