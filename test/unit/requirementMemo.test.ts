// A returning credential's requirements are judged once per route and the answer reused: the reused
// answer equals a fresh evaluateRequirements for generated callers, rules and times; claims that may
// change (not frozen) and first-seen tokens are judged every time; maxAge is judged on every check,
// so a moving clock asks for a step-up; a reload's new policy judges a cached token afresh; and one
// credential keeps answers for a bounded number of routes.
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { createLivePipeline } from "../../src/app/createLivePipeline.ts";
import type { ClaimCheckConfig } from "../../src/config/parseClaimCheck.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { DenyRuleConfig, PortcullisConfig, RequirementsConfig } from "../../src/config/PortcullisConfig.ts";
import { compileDenial } from "../../src/core/compileDenials.ts";
import { compileRequirements, type CompiledRequirements } from "../../src/core/compileRequirements.ts";
import { createRequirementMemo, KEPT_ROUTES_PER_CREDENTIAL } from "../../src/core/createRequirementMemo.ts";
import { evaluateRequirements, type RequirementSubject } from "../../src/core/evaluateRequirements.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { freezeClaims } from "../../src/oidc/freezeClaims.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { NO_DEFAULT_REQUIREMENTS, NO_REQUIREMENTS } from "../harness/noRequirements.ts";
import { PLAIN_IDENTITY } from "../harness/plainIdentityConfig.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";
import { createSigningKey, signToken, startLoopbackIdp } from "./oidcLoopbackIdp.ts";

const NOW = 1_800_000_000;
const identity = createIdentityHeaders({ ...PLAIN_IDENTITY, roleClaims: ["roles"] });

function required(parts: Partial<RequirementsConfig>, denials: DenyRuleConfig[] = []): CompiledRequirements {
  const req = compileRequirements(
    { ...NO_REQUIREMENTS, ...parts },
    null,
    denials.map((rule, index) => compileDenial(rule, index)),
  );
  if (req === null) throw new Error("expected requirements");
  return req;
}

/** A memo over the identity module and a clock the test sets (seconds; it may go back as well). */
function memoAt(seconds = NOW) {
  const clock = { seconds, now: () => clock.seconds * 1000 };
  return { memo: createRequirementMemo(identity, clock), clock };
}

/** The caller as the Gate judges it (roles read by the identity module), at `now`. */
function judged(claims: Readonly<Record<string, unknown>>, now = NOW): RequirementSubject {
  return { claims, roles: identity.roles(claims, "corp"), now };
}

/** Frozen claims whose reads are counted: a judged requirement reads claims, a reused answer reads none. */
function countedClaims(values: Record<string, unknown>, freeze = true) {
  const reads = { count: 0 };
  const claims: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values))
    Object.defineProperty(claims, name, {
      enumerable: true,
      get: () => {
        reads.count += 1;
        return value;
      },
    });
  return { claims: freeze ? Object.freeze(claims) : claims, reads };
}

describe("the requirement memo, against a fresh evaluation", () => {
  const names = fc.constantFrom("a", "b", "c");
  const someNames = fc.uniqueArray(names, { maxLength: 2 });
  const leaf: fc.Arbitrary<ClaimCheckConfig> = fc.oneof(
    fc.record({ claim: fc.constantFrom("email", "org.tier"), endsWith: fc.constantFrom("@example.com", "x") }),
    fc.record({
      claim: fc.constantFrom("email", "sub"),
      matches: fc.constantFrom("^[a-z]+@example\\.com$", "^u-[0-9]+$"),
    }),
    fc.record({ claim: fc.constantFrom("scope", "groups", "roles"), hasAny: fc.uniqueArray(names, { minLength: 1 }) }),
    fc.record({ claim: fc.constantFrom("scope", "groups"), hasAll: fc.uniqueArray(names, { minLength: 1 }) }),
    fc.record({
      claim: fc.constantFrom("tier", "org.tier"),
      oneOf: fc.uniqueArray(fc.constantFrom("free", "gold", 1), { minLength: 1 }),
    }),
    fc.record({ claim: fc.constantFrom("tier", "level"), notEquals: fc.constantFrom("free", 2) }),
    fc.record({ claim: fc.constantFrom("level", "iat"), atLeast: fc.constantFrom(0, 2, 3) }),
    fc.record({ claim: fc.constantFrom("email", "acr"), exists: fc.boolean() }),
  );
  const tree: fc.Arbitrary<ClaimCheckConfig> = fc.letrec<{ node: ClaimCheckConfig }>((tie) => ({
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.record({ all: fc.array(tie("node"), { minLength: 1, maxLength: 3 }) }),
      fc.record({ any: fc.array(tie("node"), { minLength: 1, maxLength: 3 }) }),
      fc.record({ not: tie("node") }),
    ),
  })).node;
  const nameSet = fc.option(fc.record({ anyOf: someNames, allOf: someNames }), { nil: null });
  // A few parts at a time, from the same small pools as the claims, so that every kind of answer
  // (met, denied, forbidden, insufficient_scope, step-up by acr or amr, and by maxAge) comes up.
  const clientIds = fc.uniqueArray(fc.constantFrom("web", "cli"), { minLength: 1, maxLength: 2 });
  const everyPart = fc.record({
    scopes: fc.uniqueArray(names, { minLength: 1, maxLength: 2 }),
    roles: nameSet,
    groups: nameSet,
    audiences: fc.uniqueArray(fc.constantFrom("api", "other"), { minLength: 1, maxLength: 1 }),
    clients: clientIds,
    principal: fc.constantFrom("any", "user", "client"),
    claims: tree,
    acr: fc.uniqueArray(fc.constantFrom("gold", "silver"), { minLength: 1, maxLength: 2 }),
    amr: fc.uniqueArray(fc.constantFrom("pwd", "mfa"), { minLength: 1, maxLength: 2 }),
    maxAge: fc.constantFrom(0, 60, 600),
  });
  // `request` is judged before any credential (refuseUnmetRequest), never by the memo.
  const PARTS = (Object.keys(NO_DEFAULT_REQUIREMENTS) as (keyof typeof NO_DEFAULT_REQUIREMENTS)[]).filter(
    (key): key is Exclude<keyof typeof NO_DEFAULT_REQUIREMENTS, "request"> => key !== "request",
  );
  const callerParts = (most: number) =>
    fc
      .tuple(everyPart, fc.subarray(PARTS, { maxLength: most }))
      .map(([all, keys]) => Object.fromEntries(keys.map((key) => [key, all[key]])));
  const denial: fc.Arbitrary<DenyRuleConfig> = fc.record({
    code: fc.constantFrom("blocked", "suspended"),
    status: fc.constantFrom(401, 403, 404),
    when: fc
      .tuple(
        fc.record({ scopes: someNames, clients: clientIds, groups: someNames, roles: someNames, claims: tree }),
        fc.subarray(["scopes", "clients", "groups", "roles", "claims"] as const, { minLength: 1, maxLength: 2 }),
      )
      // The parts left out as the parser leaves them: empty.
      .map(([all, keys]) => ({
        scopes: [],
        clients: [],
        groups: [],
        roles: [],
        claims: null,
        ...Object.fromEntries(keys.map((key) => [key, all[key]])),
      })),
  });
  const requirements = fc
    .tuple(callerParts(3), fc.option(callerParts(2), { nil: null, freq: 2 }), fc.array(denial, { maxLength: 2 }))
    .map(([own, defaults, denials]) =>
      compileRequirements(
        { ...NO_REQUIREMENTS, ...own } as RequirementsConfig,
        defaults === null ? null : { ...NO_DEFAULT_REQUIREMENTS, ...defaults },
        denials.map((rule, index) => compileDenial(rule, index)),
      ),
    )
    .filter((req): req is CompiledRequirements => req !== null);
  const wordsOrList = fc.oneof(
    someNames.map((list) => list.join(" ")),
    someNames,
  );
  const claims = fc.record(
    {
      sub: fc.constantFrom("u-1", "alice"),
      client_id: fc.constantFrom("web", "cli"),
      azp: fc.constantFrom("web", "cli"),
      scope: wordsOrList,
      aud: fc.oneof(fc.constantFrom("api", "other"), fc.constant(["api", "other"])),
      roles: someNames,
      groups: wordsOrList,
      email: fc.constantFrom("ada@example.com", "ADA@EXAMPLE.COM", "eve@evil.test"),
      tier: fc.constantFrom("free", "gold", 1),
      level: fc.constantFrom(1, 2, 3, "3"),
      org: fc.record({ tier: fc.constantFrom("free", "gold@example.com") }),
      acr: fc.constantFrom("gold", "silver"),
      amr: fc.uniqueArray(fc.constantFrom("pwd", "mfa"), { maxLength: 2 }),
      auth_time: fc.constantFrom(NOW - 1000, NOW - 100, NOW, "recent"),
      iat: fc.constantFrom(0, 5),
    },
    { requiredKeys: [] },
  );

  it("answers every check of a returning caller as evaluateRequirements does, whatever the routes, order and time", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(requirements, { minLength: 1, maxLength: 4 }),
        claims,
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(0, 30, 120, 900, 2000)), { minLength: 1, maxLength: 12 }),
        (routes, raw, checks) => {
          const { memo, clock } = memoAt();
          const frozen = freezeClaims(structuredClone(raw));
          const credential = { claims: frozen, provider: "corp", keepAnswer: true };
          for (const [pick, later] of checks) {
            const req = routes[pick % routes.length]!;
            const subject = judged(frozen, NOW + later);
            clock.seconds = NOW + later;
            const fresh = evaluateRequirements(req, subject);
            expect(memo.judge(req, credential)).toEqual(fresh);
            seen.add(fresh.ok ? "met" : fresh.detail.includes("maxAge") ? "maxAge" : fresh.kind);
          }
        },
      ),
      { numRuns: propertyRuns(600) },
    );
    console.log([...seen]);
    // The generators reach every kind of answer, the clock-bound one included.
    expect([...seen].sort()).toEqual(["denied", "forbidden", "insufficient_scope", "maxAge", "met", "step_up"]);
  });
});

describe("what the memo keeps", () => {
  const req = required({ scopes: ["orders"], claims: { claim: "email", endsWith: "@example.com" } }, [
    { code: "blocked", status: 403, when: { scopes: [], clients: ["legacy"], groups: [], roles: [], claims: null } },
  ]);

  it("judges a returning token's frozen claims once per route: later checks read no claim", () => {
    const { claims, reads } = countedClaims({ sub: "u-1", client_id: "web", scope: "orders", email: "a@example.com" });
    const { memo } = memoAt();
    const credential = { claims, provider: "corp", keepAnswer: true };
    expect(memo.judge(req, credential)).toEqual({ ok: true });
    expect(reads.count).toBeGreaterThan(0);
    reads.count = 0;
    for (let i = 0; i < 3; i++) expect(memo.judge(req, credential)).toEqual({ ok: true });
    expect(reads.count).toBe(0);
  });

  it("keeps a failure as well, and answers it the same each time", () => {
    const { claims, reads } = countedClaims({ sub: "u-1", client_id: "legacy", scope: "orders" });
    const { memo } = memoAt();
    const credential = { claims, provider: "corp", keepAnswer: true };
    const first = memo.judge(req, credential);
    expect(first).toMatchObject({ ok: false, kind: "denied", denial: { code: "blocked" } });
    reads.count = 0;
    expect(memo.judge(req, credential)).toEqual(first);
    expect(reads.count).toBe(0);
  });

  it("never keeps the answer of a route whose deny rule reads the request: each request is judged as it comes", () => {
    const byHeader = required({ scopes: ["orders"] }, [
      {
        code: "legacy_header",
        status: 403,
        when: {
          scopes: ["orders"],
          clients: [],
          groups: [],
          roles: [],
          claims: null,
          request: { headers: [{ name: "x-legacy", present: true }] },
        },
      },
    ]);
    const { claims } = countedClaims({ sub: "u-1", client_id: "web", scope: "orders" });
    const { memo } = memoAt();
    const credential = { claims, provider: "corp", keepAnswer: true };
    const plain = { headers: new Map<string, string>(), path: "/orders" };
    const legacy = { headers: new Map([["x-legacy", "1"]]), path: "/orders" };
    for (let i = 0; i < 2; i++) {
      expect(memo.judge(byHeader, credential, plain)).toEqual({ ok: true });
      expect(memo.judge(byHeader, credential, legacy)).toMatchObject({ ok: false, kind: "denied" });
    }
  });

  it("judges claims that are not frozen (a session's) on every check", () => {
    const { claims, reads } = countedClaims({ client_id: "web", scope: "orders", email: "a@example.com" }, false);
    const { memo } = memoAt();
    const credential = { claims, provider: "corp", keepAnswer: true };
    memo.judge(req, credential);
    reads.count = 0;
    expect(memo.judge(req, credential)).toEqual({ ok: true });
    expect(reads.count).toBeGreaterThan(0);
  });

  it("keeps nothing for a first-seen token's check (most are never seen again)", () => {
    const { claims, reads } = countedClaims({ client_id: "web", scope: "orders", email: "a@example.com" });
    const { memo } = memoAt();
    memo.judge(req, { claims, provider: "corp", keepAnswer: false });
    reads.count = 0;
    memo.judge(req, { claims, provider: "corp", keepAnswer: true });
    expect(reads.count).toBeGreaterThan(0);
  });

  it("judges claims met under another provider afresh (roles are read per provider)", () => {
    const { claims, reads } = countedClaims({ client_id: "web", scope: "orders", email: "a@example.com" });
    const { memo } = memoAt();
    memo.judge(req, { claims, provider: "corp", keepAnswer: true });
    reads.count = 0;
    memo.judge(req, { claims, provider: "partner", keepAnswer: true });
    expect(reads.count).toBeGreaterThan(0);
  });

  it(`keeps one credential's answers for at most ${KEPT_ROUTES_PER_CREDENTIAL + 1} routes, judging the others each time with the same answer`, () => {
    const { claims, reads } = countedClaims({ client_id: "web", scope: "orders", email: "a@example.com" });
    const { memo } = memoAt();
    const credential = { claims, provider: "corp", keepAnswer: true };
    // Distinct compiled requirements, as distinct routes have; every other one fails.
    const routes = Array.from({ length: 3 * KEPT_ROUTES_PER_CREDENTIAL }, (_, i) =>
      required({ scopes: [i % 2 === 0 ? "orders" : `other${i}`] }),
    );
    for (const route of routes) memo.judge(route, credential);
    const rereads = routes.map((route) => {
      reads.count = 0;
      const outcome = memo.judge(route, credential);
      const count = reads.count;
      expect(outcome).toEqual(evaluateRequirements(route, judged(claims)));
      return count;
    });
    expect(rereads.filter((count) => count === 0)).toHaveLength(KEPT_ROUTES_PER_CREDENTIAL + 1);
    expect(rereads.slice(0, KEPT_ROUTES_PER_CREDENTIAL + 1).every((count) => count === 0)).toBe(true);
  });
});

describe("the Gate with kept requirement answers", () => {
  it("asks a cached token for a step-up once the clock passes maxAge, though the rest was judged before", async () => {
    const clock = createManualClock(NOW * 1000);
    const outcome: VerifyOutcome = {
      ok: true,
      provider: "corp",
      claims: freezeClaims({ sub: "alice", scope: "orders", email: "a@example.com", auth_time: NOW, exp: 2e9 }),
      expiresAt: 2e9,
    };
    const { gate } = gateOver({
      routes: [
        {
          name: "orders",
          match: { hosts: [], path: "/orders" },
          auth: "required",
          providers: [],
          require: {
            ...NO_REQUIREMENTS,
            scopes: ["orders"],
            claims: { claim: "email", endsWith: "@example.com" },
            maxAge: 300,
          },
        },
      ],
      tokens: { alice: outcome },
      tokenCache: true,
      clock,
    });
    const check = () => gate.decide(checkRequest("/orders/1", { authorization: "Bearer alice" }));
    for (let i = 0; i < 3; i++) expect(await check()).toMatchObject({ kind: "allow", route: "orders" });
    clock.advance(301_000);
    const late = await check();
    expect(late).toMatchObject({ kind: "deny", code: "step_up_required", status: 401 });
    if (late.kind !== "deny") throw new Error("deny");
    expect(late.headers.find(([name]) => name === "www-authenticate")?.[1]).toContain('max_age="300"');
    expect(await check()).toMatchObject({ kind: "deny", code: "step_up_required" });
  });
});

describe("a reload and a cached token", () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  function configOf(issuer: string, deny: unknown[]): PortcullisConfig {
    const parsed = parseConfig({
      listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
      providers: { idp: { issuer, audiences: ["api"], allowInsecureHttp: true, jwksCooldownSeconds: 0 } },
      routes: [
        {
          name: "api",
          match: { path: "/api" },
          auth: "required",
          require: { claims: { claim: "email", endsWith: "@example.com" } },
          deny,
        },
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.config;
  }

  it("judges a token the kept token cache hands back afresh under the reloaded policy, and again after reloading back", async () => {
    const key = await createSigningKey("k1");
    const idp = await startLoopbackIdp([key.publicJwk]);
    cleanups.push(() => idp.close());
    const open = configOf(idp.issuer, []);
    const live = createLivePipeline(open, createLogger("error"));
    cleanups.push(() => live.close());
    await live.start();
    const token = await signToken(key, idp.issuer, { email: "ada@example.com", groups: ["contractors"] });
    const check = () => live.gate.decide(checkRequest("/api/x", { authorization: `Bearer ${token}` }));
    for (let i = 0; i < 3; i++) expect(await check()).toMatchObject({ kind: "allow", route: "api" });
    const registry = live.current().registry;

    const blocking = configOf(idp.issuer, [
      { code: "contractors_blocked", when: { claims: { claim: "groups", hasAny: ["contractors"] } } },
    ]);
    expect(await live.apply(blocking)).toMatchObject({ result: "ok" });
    expect(live.current().registry).toBe(registry);
    expect(registry.cacheSize()).toBe(1);
    for (let i = 0; i < 2; i++) {
      const denied = await check();
      expect(denied).toMatchObject({ kind: "deny", code: "policy_denied", status: 403 });
      if (denied.kind !== "deny") throw new Error("deny");
      expect(JSON.parse(denied.body)).toMatchObject({ error: "contractors_blocked" });
    }

    expect(await live.apply(open)).toMatchObject({ result: "ok" });
    expect(await check()).toMatchObject({ kind: "allow", route: "api" });
  });
});
