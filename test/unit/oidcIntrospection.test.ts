import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createIssuerPolicy } from "../../src/oidc/createIssuerPolicy.ts";
import {
  createIntrospector,
  type IntrospectionResult,
  type Introspector,
  type IntrospectorOptions,
} from "../../src/oidc/createIntrospector.ts";
import { VerifierFault } from "../../src/oidc/VerifierFault.ts";
import type { VerifyOutcome } from "../../src/oidc/VerifyOutcome.ts";
import {
  API_AUDIENCE,
  GATEWAY_CLIENT_ID,
  GATEWAY_CLIENT_SECRET,
  MACHINE_CLIENT_ID,
  startIntrospectionOp,
  type IntrospectionOp,
} from "../harness/startIntrospectionOp.ts";

let op: IntrospectionOp;
beforeAll(async () => {
  op = await startIntrospectionOp({ accessTokenTtlSeconds: 600 });
});
afterAll(async () => {
  await op?.close();
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Setup {
  readonly introspector: Introspector;
  readonly results: IntrospectionResult[];
  /** Introspection calls the real provider received since setup. */
  calls(): number;
}

function setup(overrides: Partial<IntrospectorOptions> = {}): Setup {
  const results: IntrospectionResult[] = [];
  const before = op.introspections.count;
  const introspector = createIntrospector({
    providerName: "orders",
    endpoint: op.introspectionEndpoint,
    clientId: GATEWAY_CLIENT_ID,
    clientSecret: GATEWAY_CLIENT_SECRET,
    authMethod: "client_secret_basic",
    timeoutMs: 2000,
    cacheTtlSeconds: 300,
    maxEntries: 100,
    clockToleranceSeconds: 0,
    audiences: [API_AUDIENCE],
    issuer: op.issuer,
    allowInsecureHttp: true,
    observer: {
      introspection(provider, result) {
        expect(provider).toBe("orders");
        results.push(result);
      },
    },
    ...overrides,
  });
  return { introspector, results, calls: () => op.introspections.count - before };
}

/** A token for the API (its answer names API_AUDIENCE in aud) unless resource: false. */
async function opaqueToken(options: { resource?: boolean; dpop?: boolean } = {}): Promise<string> {
  return (await op.clientCredentialsToken({ resource: true, ...options })).accessToken;
}

function unknownToken(): string {
  return randomBytes(32).toString("base64url");
}

function expectDenied(outcome: VerifyOutcome, code: string): void {
  expect(outcome.ok).toBe(false);
  if (!outcome.ok) {
    expect(outcome.code).toBe(code);
    expect(outcome.provider).toBe("orders");
  }
}

/** A loopback endpoint for faults the real provider cannot be made to produce. */
async function startFakeEndpoint(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<URL> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handler(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/token/introspection`);
}

async function closedPortEndpoint(): Promise<URL> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return new URL(`http://127.0.0.1:${port}/token/introspection`);
}

async function faultOf(promise: Promise<unknown>): Promise<VerifierFault> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VerifierFault);
  return err as VerifierFault;
}

describe("token introspection against a real OpenID Provider", () => {
  it("allows an active opaque token with its scope and client_id as claims", async () => {
    const { introspector, results, calls } = setup();
    const outcome = await introspector.introspect(await opaqueToken());
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.provider).toBe("orders");
    expect(outcome.claims["scope"]).toBe("orders:read orders:write");
    expect(outcome.claims["client_id"]).toBe(MACHINE_CLIENT_ID);
    expect(outcome.claims.iss).toBe(op.issuer);
    expect(outcome.expiresAt).toBe(outcome.claims.exp);
    expect(outcome.expiresAt).toBeGreaterThan(Date.now() / 1000 + 500);
    expect(Object.isFrozen(outcome.claims)).toBe(true);
    expect(calls()).toBe(1);
    expect(results).toEqual(["active"]);
  });

  it("authenticates with form-urlencoded client_secret_basic, so a secret with reserved characters works", async () => {
    const { introspector } = setup({ authMethod: "client_secret_basic" });
    const auth = op.introspections.auth.length;
    expect((await introspector.introspect(await opaqueToken())).ok).toBe(true);
    expect(op.introspections.auth.slice(auth)).toEqual(["basic"]);
  });

  it("authenticates with client_secret_post in the form body when configured", async () => {
    const { introspector } = setup({ authMethod: "client_secret_post" });
    const auth = op.introspections.auth.length;
    expect((await introspector.introspect(await opaqueToken())).ok).toBe(true);
    expect(op.introspections.auth.slice(auth)).toEqual(["body"]);
  });

  it("allows a token whose aud names a configured audience", async () => {
    const { introspector } = setup({ audiences: ["billing-api", API_AUDIENCE] });
    const outcome = await introspector.introspect(await opaqueToken({ resource: true }));
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.claims.aud).toBe(API_AUDIENCE);
  });

  it("denies a token whose aud has none of the configured audiences", async () => {
    const { introspector } = setup({ audiences: ["billing-api"] });
    expectDenied(await introspector.introspect(await opaqueToken({ resource: true })), "audience_mismatch");
  });

  it("denies an active token minted for no audience of ours (no aud in the answer) as audience_mismatch by default", async () => {
    const { introspector } = setup();
    const outcome = await introspector.introspect(await opaqueToken({ resource: false }));
    expectDenied(outcome, "audience_mismatch");
    if (!outcome.ok) expect(outcome.detail).toContain("introspection.requireAudience");
  });

  it("allows an active token without aud only when requireAudience is off", async () => {
    const { introspector } = setup({ requireAudience: false });
    expect((await introspector.introspect(await opaqueToken({ resource: false }))).ok).toBe(true);
  });

  it("denies a token whose introspection answer names another issuer", async () => {
    const { introspector } = setup({ issuer: "https://other-idp.example" });
    expectDenied(await introspector.introspect(await opaqueToken()), "issuer_mismatch");
  });

  it("denies a revoked token as inactive", async () => {
    const { introspector, results } = setup();
    const token = await opaqueToken();
    await op.revoke(token);
    const outcome = await introspector.introspect(token);
    expectDenied(outcome, "token_inactive");
    if (!outcome.ok) expect(outcome.detail).toMatch(/not active/);
    expect(results).toEqual(["inactive"]);
  });

  it("denies an unknown token as inactive", async () => {
    const { introspector, calls } = setup();
    const outcome = await introspector.introspect(unknownToken());
    expectDenied(outcome, "token_inactive");
    if (!outcome.ok) expect(outcome.detail).toMatch(/not active/);
    expect(calls()).toBe(1);
  });

  it("accepts a DPoP-bound token's answer with its cnf.jkt, so the token binding demands the proof of that key", async () => {
    const { introspector } = setup();
    const outcome = await introspector.introspect(await opaqueToken({ dpop: true }));
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect(outcome.claims["token_type"]).toMatch(/^dpop$/i);
      expect(outcome.claims["cnf"]).toMatchObject({ jkt: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    }
  });

  it("denies a token the provider still calls active once its exp has passed on our clock", async () => {
    const token = await opaqueToken();
    const late = setup({ now: () => Date.now() + 601_000 });
    expectDenied(await late.introspector.introspect(token), "token_expired");
    // Within the clock tolerance it is still accepted.
    const tolerant = setup({ now: () => Date.now() + 601_000, clockToleranceSeconds: 30 });
    expect((await tolerant.introspector.introspect(token)).ok).toBe(true);
  });

  it("refuses a value that is not a bearer token without calling the provider", async () => {
    const { introspector, calls } = setup();
    for (const value of ["", "two words", "tok\u00e9n", "a".repeat(64 * 1024 + 1)]) {
      expectDenied(await introspector.introspect(value), "token_malformed");
    }
    expect(calls()).toBe(0);
  });
});

describe("introspection cache and single flight", () => {
  it("shares one introspection call among 50 concurrent lookups of one token", async () => {
    const { introspector, results, calls } = setup();
    const token = await opaqueToken();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => introspector.introspect(token)));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(calls()).toBe(1);
    expect(results.filter((r) => r === "active")).toHaveLength(1);
    expect(results.filter((r) => r === "cache_hit")).toHaveLength(49);
  });

  it("answers a second lookup within the TTL from the cache, without calling the provider", async () => {
    let clock = Date.now();
    const { introspector, results, calls } = setup({ now: () => clock, cacheTtlSeconds: 60 });
    const token = await opaqueToken();
    expect((await introspector.introspect(token)).ok).toBe(true);
    expect(calls()).toBe(1);
    clock += 59_000;
    expect((await introspector.introspect(token)).ok).toBe(true);
    expect(calls()).toBe(1);
    expect(results).toEqual(["active", "cache_hit"]);
  });

  it("asks the provider again once the TTL is over, and then sees a revocation", async () => {
    let clock = Date.now();
    const { introspector, calls } = setup({ now: () => clock, cacheTtlSeconds: 60 });
    const token = await opaqueToken();
    expect((await introspector.introspect(token)).ok).toBe(true);
    await op.revoke(token);
    clock += 60_000;
    expectDenied(await introspector.introspect(token), "token_inactive");
    expect(calls()).toBe(2);
  });

  it("never keeps an active answer past the token's exp, whatever the TTL", async () => {
    let clock = Date.now();
    const { introspector, calls } = setup({ now: () => clock, cacheTtlSeconds: 3600 });
    const token = await opaqueToken(); // expires in 600 s
    const first = await introspector.introspect(token);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    clock = first.expiresAt * 1000 - 1000;
    expect((await introspector.introspect(token)).ok).toBe(true);
    expect(calls()).toBe(1);
    clock = first.expiresAt * 1000;
    // The provider's own clock still says active; ours says the token is over.
    expectDenied(await introspector.introspect(token), "token_expired");
    expect(calls()).toBe(2);
  });

  it("keeps an inactive answer for at most 30 seconds even with a longer TTL", async () => {
    let clock = Date.now();
    const { introspector, calls } = setup({ now: () => clock, cacheTtlSeconds: 300 });
    const token = unknownToken();
    expectDenied(await introspector.introspect(token), "token_inactive");
    clock += 29_000;
    expectDenied(await introspector.introspect(token), "token_inactive");
    expect(calls()).toBe(1);
    clock += 1_000;
    expectDenied(await introspector.introspect(token), "token_inactive");
    expect(calls()).toBe(2);
  });

  it("keeps at most maxEntries answers, dropping the least recently used", async () => {
    const { introspector, calls } = setup({ maxEntries: 3 });
    const tokens = Array.from({ length: 5 }, unknownToken);
    for (const token of tokens) await introspector.introspect(token);
    expect(introspector.cacheSize()).toBe(3);
    expect(calls()).toBe(5);
    await introspector.introspect(tokens[4]!);
    expect(calls()).toBe(5);
    await introspector.introspect(tokens[0]!);
    expect(calls()).toBe(6);
    expect(introspector.cacheSize()).toBe(3);
  });
});

describe("introspection faults never allow", () => {
  it("throws VerifierFault when the provider rejects our client credentials (401), and does not cache it", async () => {
    const { introspector, results, calls } = setup({ clientSecret: "wrong-secret" });
    const token = await opaqueToken();
    const fault = await faultOf(introspector.introspect(token));
    expect(fault.message).toMatch(/HTTP 401/);
    await faultOf(introspector.introspect(token));
    expect(calls()).toBe(2);
    expect(introspector.cacheSize()).toBe(0);
    expect(results).toEqual(["error", "error"]);
  });

  it("throws VerifierFault at once when the endpoint is down", async () => {
    const { introspector } = setup({ endpoint: await closedPortEndpoint() });
    const started = performance.now();
    const fault = await faultOf(introspector.introspect(unknownToken()));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fault.message).toMatch(/failed to connect/);
    // An outage, which the gate reports as idp_unavailable rather than as a bug.
    expect(fault.unavailable).toBe(true);
  });

  it("throws VerifierFault after timeoutMs when the endpoint never answers", async () => {
    const endpoint = await startFakeEndpoint(() => undefined);
    const { introspector } = setup({ endpoint, timeoutMs: 300 });
    const started = performance.now();
    const fault = await faultOf(introspector.introspect(unknownToken()));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1500);
    expect(fault.message).toMatch(/timed out after 300 ms/);
  });

  it("throws VerifierFault for a body that is not JSON", async () => {
    const endpoint = await startFakeEndpoint((_req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end("<html>oops</html>"),
    );
    const fault = await faultOf(setup({ endpoint }).introspector.introspect(unknownToken()));
    expect(fault.message).toMatch(/not JSON/);
    expect(fault.unavailable).toBe(false);
  });

  it("throws VerifierFault when the answer has no boolean active", async () => {
    for (const answer of [{ scope: "orders:read" }, { active: "true" }, [{ active: true }]]) {
      const endpoint = await startFakeEndpoint((_req, res) =>
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer)),
      );
      await faultOf(setup({ endpoint }).introspector.introspect(unknownToken()));
    }
  });

  it("never puts the token or the client secret in a fault, even when the endpoint echoes them", async () => {
    const echo = await startFakeEndpoint((req, res, body) =>
      res
        .writeHead(200, { "content-type": "text/plain" })
        .end(`${body} ${req.headers.authorization ?? ""} ${decodeURIComponent(body)}`),
    );
    const echoError = await startFakeEndpoint((_req, res, body) => res.writeHead(500).end(body));
    const silent = await startFakeEndpoint(() => undefined);
    const setups = [
      setup({ clientSecret: "wrong-secret-8c1f" }),
      setup({ endpoint: echo }),
      setup({ endpoint: echo, authMethod: "client_secret_post" }),
      setup({ endpoint: echoError }),
      setup({ endpoint: silent, timeoutMs: 200 }),
      setup({ endpoint: await closedPortEndpoint() }),
    ];
    for (const { introspector } of setups) {
      const token = unknownToken();
      const fault = await faultOf(introspector.introspect(token));
      const everything = `${fault.message} ${inspect(fault, { depth: 10 })}`;
      expect(everything).not.toContain(token);
      expect(everything).not.toContain(GATEWAY_CLIENT_SECRET);
      expect(everything).not.toContain(encodeURIComponent(GATEWAY_CLIENT_SECRET));
      expect(everything).not.toContain("wrong-secret-8c1f");
    }
  });
});

describe("introspector options", () => {
  it("refuses a plain http endpoint unless allowInsecureHttp is set", () => {
    expect(() => setup({ allowInsecureHttp: false })).toThrow(/https/);
  });

  it("refuses options the config should never let through", () => {
    expect(() => setup({ maxEntries: 0 })).toThrow(TypeError);
    expect(() => setup({ audiences: [] })).toThrow(TypeError);
    expect(() => setup({ timeoutMs: 0 })).toThrow(TypeError);
    expect(() => setup({ clientSecret: "" })).toThrow(TypeError);
  });
});

describe("introspection answers get the JWT path's checks", () => {
  /** An endpoint answering `answer` (an IdP's shape the real provider cannot be made to produce). */
  async function answering(
    answer: Record<string, unknown>,
    overrides: Partial<IntrospectorOptions> = {},
  ): Promise<VerifyOutcome> {
    const endpoint = await startFakeEndpoint((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer)),
    );
    const { introspector } = setup({ endpoint, ...overrides });
    return introspector.introspect(unknownToken());
  }
  const active = (claims: Record<string, unknown> = {}) => ({
    active: true,
    iss: op.issuer,
    aud: API_AUDIENCE,
    sub: "u1",
    exp: Math.floor(Date.now() / 1000) + 300,
    ...claims,
  });

  it("allows an answer that passes every check", async () => {
    expect((await answering(active())).ok).toBe(true);
  });

  it("refuses an answer for another resource server (aud names none of ours) as audience_mismatch", async () => {
    expectDenied(await answering(active({ aud: ["billing-api"] })), "audience_mismatch");
  });

  it("checks client_id against the audiences when the provider's audience claim is client_id", async () => {
    expectDenied(
      await answering(active({ aud: undefined, client_id: "someone-else" }), { audienceClaim: "client_id" }),
      "audience_mismatch",
    );
    expect(
      (await answering(active({ aud: undefined, client_id: API_AUDIENCE }), { audienceClaim: "client_id" })).ok,
    ).toBe(true);
  });

  it("applies the provider's access-token claims (Keycloak typ: Bearer, Cognito token_use: access)", async () => {
    expectDenied(
      await answering(active({ token_use: "id" }), { accessTokenClaims: { token_use: "access" } }),
      "claims_invalid",
    );
    expectDenied(await answering(active({ typ: "ID" }), { accessTokenClaims: { typ: "Bearer" } }), "type_not_allowed");
    expect((await answering(active({ typ: "Bearer" }), { accessTokenClaims: { typ: "Bearer" } })).ok).toBe(true);
  });

  it("refuses an answer describing an ID token (nonce, at_hash)", async () => {
    expectDenied(await answering(active({ nonce: "n1" })), "type_not_allowed");
    expectDenied(await answering(active({ at_hash: "h" })), "type_not_allowed");
  });

  it("keeps a sender-constrained token's cnf in the claims, as the JWT path does, for the gate to check its proof", async () => {
    const outcome = await answering(active({ cnf: { "x5t#S256": "abc" } }));
    expect(outcome).toMatchObject({ ok: true, claims: { cnf: { "x5t#S256": "abc" } } });
  });

  it("accepts an iss that is one of the provider's token issuers (alias), and refuses any other", async () => {
    const issuers = createIssuerPolicy({ issuer: op.issuer, tokenIssuers: ["https://alias.example.com/"] });
    expect((await answering(active({ iss: "https://alias.example.com/" }), { issuers })).ok).toBe(true);
    expectDenied(await answering(active({ iss: "https://other.example.com/" }), { issuers }), "issuer_mismatch");
  });
});
