// DPoP-bound tokens at the gate (RFC 9449): `Authorization: DPoP` with a proof of this very request,
// checked on every check of a cached token and accepted once; the bound token as Bearer, the DPoP
// scheme for an unbound token, a plain token where DPoP is demanded, each refused with the challenge
// RFC 9449 §7.1 asks for; server nonces; a replay store that cannot answer fails closed.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { createDpopBinding } from "../../src/core/createDpopBinding.ts";
import { createTokenBinding } from "../../src/core/createTokenBinding.ts";
import type { Deny } from "../../src/core/Decision.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import type { DpopPolicy } from "../../src/oidc/checkDpopProof.ts";
import { tokenHash } from "../../src/oidc/checkDpopProof.ts";
import { createDpopNonces } from "../../src/oidc/createDpopNonces.ts";
import { createMemoryDpopReplayStore } from "../../src/oidc/createMemoryDpopReplayStore.ts";
import { headerOf, removalsOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { NO_REQUIREMENTS } from "../harness/noRequirements.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const ORIGIN = "https://app.example.com:8443";
const ALGS = 'algs="ES256 ES384 EdDSA PS256 RS256"';

const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = await exportJWK(pair.publicKey);
const JKT = await calculateJwkThumbprint(jwk);
const thief = generateKeyPairSync("ec", { namedCurve: "P-256" });

const outcome = (cnf: unknown, provider = "corp"): VerifyOutcome => ({
  ok: true,
  provider,
  claims: { sub: "alice", exp: 2_000_000_000, ...(cnf === undefined ? {} : { cnf }) },
  expiresAt: 2_000_000_000,
});

const TOKENS = {
  bound: outcome({ jkt: JKT }),
  plain: outcome(undefined),
  elsewhere: outcome({ jkt: JKT }, "partner"),
};

const requireDpop: NonNullable<RouteConfig["require"]> = { ...NO_REQUIREMENTS, boundTokens: "dpop" };

const ROUTES: RouteConfig[] = [
  { name: "api", match: { hosts: [], path: "/api" }, auth: "required", providers: [] },
  { name: "strict", match: { hosts: [], path: "/strict" }, auth: "required", providers: [], require: requireDpop },
  { name: "partners", match: { hosts: [], path: "/partners" }, auth: "required", providers: ["partner"] },
  {
    name: "admin",
    match: { hosts: [], path: "/admin" },
    auth: "required",
    providers: [],
    require: { ...requireDpop, boundTokens: null, scopes: ["admin"] },
  },
];

function setup(options: { nonces?: boolean; maxProofs?: number; corpDemands?: "dpop" | "none" } = {}) {
  const clock = createManualClock(NOW);
  const policy: DpopPolicy = {
    algorithms: new Set(["ES256", "ES384", "EdDSA", "PS256", "RS256"]),
    maxAgeSeconds: 60,
    futureSkewSeconds: 5,
    nonces:
      options.nonces === true ? createDpopNonces({ secret: Buffer.alloc(32, 7), windowSeconds: 300, clock }) : null,
  };
  const binding = createTokenBinding({
    providers: new Map([
      ["corp", options.corpDemands ?? "none"],
      ["partner", "none"],
    ]),
    dpop: createDpopBinding({
      policies: new Map([["corp", policy]]),
      replays: createMemoryDpopReplayStore({ maxEntries: options.maxProofs ?? 1000, clock }),
      clock,
    }),
  });
  const { gate } = gateOver({ routes: ROUTES, tokens: TOKENS, tokenCache: true, binding, clock });
  return { gate, clock, policy };
}

/** A proof for `GET ${ORIGIN}${path}` of the token, signed with the client's key unless said otherwise. */
async function proof(token: string, path: string, claims: Record<string, unknown> = {}, key = pair) {
  return new SignJWT({
    jti: randomUUID(),
    htm: "GET",
    htu: `${ORIGIN}${path}`,
    iat: Math.floor(NOW / 1000),
    ath: tokenHash(token),
    ...claims,
  })
    .setProtectedHeader({ typ: "dpop+jwt", alg: "ES256", jwk: await exportJWK(key.publicKey) })
    .sign(key.privateKey);
}

/** `GET https://app.example.com:8443{path}` as Envoy hands it over. */
const request = (path: string, headers: Record<string, string>, method = "GET") =>
  checkRequest(path, headers, { authority: "app.example.com:8443", method });

const dpopHeaders = (token: string, proofJws?: string) => ({
  authorization: `DPoP ${token}`,
  ...(proofJws !== undefined ? { dpop: proofJws } : {}),
});

describe("a DPoP-bound token presented with the DPoP scheme", () => {
  it("is let through with a proof of this request, and the proof is checked again on every check of the cached token", async () => {
    const { gate } = setup();
    for (let i = 0; i < 3; i++) {
      const d = await gate.decide(
        request("/api/things?page=2", dpopHeaders("bound", await proof("bound", "/api/things"))),
      );
      expect(d).toMatchObject({ kind: "allow", route: "api", credential: "bearer" });
      expect(removalsOf(d)).toEqual(expect.arrayContaining(["authorization", "dpop"]));
    }
    const noProof = (await gate.decide(request("/api/things", dpopHeaders("bound")))) as Deny;
    expect(noProof).toMatchObject({ status: 401, code: "invalid_dpop_proof" });
  });

  it("refuses a proof replayed, even once the token is cached", async () => {
    const { gate } = setup();
    const once = await proof("bound", "/api/things");
    expect((await gate.decide(request("/api/things", dpopHeaders("bound", once)))).kind).toBe("allow");
    const again = (await gate.decide(request("/api/things", dpopHeaders("bound", once)))) as Deny;
    expect(again).toMatchObject({ status: 401, code: "invalid_dpop_proof" });
    expect(again.detail).toContain("replayed");
  });

  it.each([
    ["another method", "/api/things", { htm: "POST" }],
    ["another path", "/api/other", {}],
    ["the authority without its port", "/api/things", { htu: "https://app.example.com/api/things" }],
    ["another scheme", "/api/things", { htu: "http://app.example.com:8443/api/things" }],
    ["another access token (ath)", "/api/things", { ath: tokenHash("someone-else") }],
    ["a stale iat", "/api/things", { iat: Math.floor(NOW / 1000) - 120 }],
  ])("refuses a proof made for %s with invalid_dpop_proof on the DPoP challenge", async (_what, path, claims) => {
    const { gate } = setup();
    const d = (await gate.decide(
      request("/api/things", dpopHeaders("bound", await proof("bound", path, claims))),
    )) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "invalid_dpop_proof" });
    expect(headerOf(d, "www-authenticate")).toBe(
      `DPoP error="invalid_dpop_proof", error_description="the DPoP proof is missing or invalid", ${ALGS}`,
    );
    expect(JSON.parse(d.body)).toEqual({ error: "invalid_dpop_proof", error_description: expect.any(String) });
  });

  it("refuses a proof signed by another key than the token's cnf.jkt", async () => {
    const { gate } = setup();
    const d = (await gate.decide(
      request("/api/things", dpopHeaders("bound", await proof("bound", "/api/things", {}, thief))),
    )) as Deny;
    expect(d).toMatchObject({ status: 401, code: "invalid_dpop_proof" });
    expect(d.detail).toContain("cnf.jkt");
  });

  it("refuses the token of a provider whose DPoP is not enabled, proof or not", async () => {
    const { gate } = setup();
    const d = (await gate.decide(
      request("/partners/x", dpopHeaders("elsewhere", await proof("elsewhere", "/partners/x"))),
    )) as Deny;
    expect(d).toMatchObject({ status: 401, code: "type_not_allowed", provider: "partner" });
  });
});

describe("schemes that do not fit the token", () => {
  it("refuses the DPoP-bound token sent as Bearer, with or without a proof, offering the DPoP scheme", async () => {
    const { gate } = setup();
    for (const headers of [
      { authorization: "Bearer bound" } as Record<string, string>,
      { authorization: "Bearer bound", dpop: await proof("bound", "/api/things") },
    ]) {
      const d = (await gate.decide(request("/api/things", headers))) as Deny;
      expect(d).toMatchObject({ status: 401, code: "type_not_allowed" });
      expect(headerOf(d, "www-authenticate")).toMatch(
        new RegExp(`^Bearer realm="portcullis", error="invalid_token", [^,]+, DPoP ${ALGS}$`),
      );
    }
  });

  it("keeps a DPoP header sent beside a plain Bearer token from the upstream, as it keeps the Authorization", async () => {
    const { gate } = setup();
    const d = await gate.decide(
      request("/api/things", { authorization: "Bearer plain", dpop: await proof("plain", "/api/things") }),
    );
    expect(d).toMatchObject({ kind: "allow", route: "api", credential: "bearer" });
    expect(removalsOf(d)).toEqual(expect.arrayContaining(["authorization", "dpop"]));
  });

  it("refuses a token without cnf.jkt sent with the DPoP scheme, even with a valid-looking proof", async () => {
    const { gate } = setup();
    const d = (await gate.decide(
      request("/api/things", dpopHeaders("plain", await proof("plain", "/api/things"))),
    )) as Deny;
    expect(d).toMatchObject({ status: 401, code: "type_not_allowed" });
    expect(d.detail).toContain("without cnf.jkt");
  });

  it("answers a malformed token under the DPoP scheme on the DPoP challenge", async () => {
    const { gate } = setup();
    const d = (await gate.decide(request("/api/things", { authorization: "DPoP not,a token" }))) as Deny;
    expect(d).toMatchObject({ status: 401, code: "token_malformed" });
    expect(headerOf(d, "www-authenticate")).toMatch(new RegExp(`^DPoP error="invalid_token", [^,]+, ${ALGS}$`));
  });

  it("answers a DPoP-bound token short of the route's scopes with 403 on the DPoP challenge, naming the scope", async () => {
    const { gate } = setup();
    const d = (await gate.decide(request("/admin/x", dpopHeaders("bound", await proof("bound", "/admin/x"))))) as Deny;
    expect(d).toMatchObject({ status: 403, code: "insufficient_scope" });
    expect(headerOf(d, "www-authenticate")).toMatch(
      new RegExp(`^DPoP error="insufficient_scope", [^,]+, scope="admin", ${ALGS}$`),
    );
  });

  it("answers an unknown token under the DPoP scheme on the DPoP challenge", async () => {
    const { gate } = setup();
    const d = (await gate.decide(request("/api/things", dpopHeaders("forged", "x.y.z")))) as Deny;
    expect(d).toMatchObject({ status: 401, code: "signature_invalid" });
    expect(headerOf(d, "www-authenticate")).toMatch(new RegExp(`^DPoP error="invalid_token", [^,]+, ${ALGS}$`));
  });
});

describe("challenges where DPoP is accepted", () => {
  it("offers both schemes to a request without a token", async () => {
    const { gate } = setup();
    const d = (await gate.decide(request("/api/things", {}))) as Deny;
    expect(d).toMatchObject({ status: 401, code: "token_missing" });
    expect(headerOf(d, "www-authenticate")).toBe(`Bearer realm="portcullis", DPoP ${ALGS}`);
  });

  it("offers only Bearer on a route whose providers do not accept DPoP", async () => {
    const { gate } = setup();
    const d = (await gate.decide(request("/partners/x", {}))) as Deny;
    expect(headerOf(d, "www-authenticate")).toBe('Bearer realm="portcullis"');
  });

  it("answers a plain bearer token on a route demanding DPoP with the DPoP challenge alone", async () => {
    const { gate } = setup();
    const d = (await gate.decide(request("/strict/x", { authorization: "Bearer plain" }))) as Deny;
    expect(d).toMatchObject({ status: 401, code: "bound_token_required" });
    expect(headerOf(d, "www-authenticate")).toMatch(new RegExp(`^DPoP error="invalid_token", [^,]+, ${ALGS}$`));
    const ok = await gate.decide(request("/strict/x", dpopHeaders("bound", await proof("bound", "/strict/x"))));
    expect(ok.kind).toBe("allow");
  });
});

describe("a provider demanding DPoP-bound tokens (boundTokens: dpop)", () => {
  it("answers its plain bearer token with bound_token_required on the DPoP challenge alone", async () => {
    const { gate } = setup({ corpDemands: "dpop" });
    const d = (await gate.decide(request("/admin/x", { authorization: "Bearer plain" }))) as Deny;
    expect(d).toMatchObject({ status: 401, code: "bound_token_required", provider: "corp" });
    expect(headerOf(d, "www-authenticate")).toMatch(new RegExp(`^DPoP error="invalid_token", [^,]+, ${ALGS}$`));
    // /api accepts every provider and only corp demands DPoP: both schemes stay on offer there.
    expect(headerOf(await gate.decide(request("/api/things", {})), "www-authenticate")).toBe(
      `Bearer realm="portcullis", DPoP ${ALGS}`,
    );
    const ok = await gate.decide(request("/api/things", dpopHeaders("bound", await proof("bound", "/api/things"))));
    expect(ok.kind).toBe("allow");
  });
});

describe("server nonces (RFC 9449 §8)", () => {
  it("answer a proof without a nonce with use_dpop_nonce and a fresh DPoP-Nonce, and let the proof with it through", async () => {
    const { gate, policy } = setup({ nonces: true });
    const first = (await gate.decide(
      request("/api/things", dpopHeaders("bound", await proof("bound", "/api/things"))),
    )) as Deny;
    expect(first).toMatchObject({ status: 401, code: "use_dpop_nonce" });
    expect(headerOf(first, "www-authenticate")).toMatch(/^DPoP error="use_dpop_nonce", /);
    const nonce = headerOf(first, "dpop-nonce");
    expect(nonce).toBe(policy.nonces?.current());
    const second = await gate.decide(
      request("/api/things", dpopHeaders("bound", await proof("bound", "/api/things", { nonce }))),
    );
    expect(second.kind).toBe("allow");
  });

  it("refuse a nonce two windows old with a new one", async () => {
    const { gate, clock, policy } = setup({ nonces: true });
    const old = policy.nonces!.current();
    clock.advance(600_000);
    const d = (await gate.decide(
      request(
        "/api/things",
        dpopHeaders("bound", await proof("bound", "/api/things", { nonce: old, iat: Math.floor(clock.now() / 1000) })),
      ),
    )) as Deny;
    expect(d).toMatchObject({ status: 401, code: "use_dpop_nonce" });
    expect(headerOf(d, "dpop-nonce")).not.toBe(old);
  });
});

describe("a replay store that cannot answer", () => {
  it("fails closed with 503 dpop_replay_unavailable, never an allow", async () => {
    const { gate } = setup({ maxProofs: 1 });
    expect(
      (await gate.decide(request("/api/things", dpopHeaders("bound", await proof("bound", "/api/things"))))).kind,
    ).toBe("allow");
    const d = (await gate.decide(
      request("/api/things", dpopHeaders("bound", await proof("bound", "/api/things"))),
    )) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 503, code: "dpop_replay_unavailable" });
    expect(headerOf(d, "www-authenticate")).toBeUndefined();
  });
});
