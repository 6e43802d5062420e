// Opaque access tokens through the real Envoy, introspected (RFC 7662) at a real dev IdP that
// Portcullis authenticates to as demo-cli: allowed with the scopes the IdP reports, answered from
// the cache within its TTL (the IdP counts its introspection calls), one call for concurrent
// requests, revoked or unknown tokens refused with 401 token_inactive, a cached token of a user the
// IdP logged out by back-channel refused with 401 token_revoked, and an introspection endpoint that
// is down answered with 503, never an allow.

import { randomBytes, randomUUID } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { DEMO_WEB_CLIENT_ID, startDevIdp } from "../../src/demo/startDevIdp.ts";
import type { DevIdp, SigningJwk } from "../../src/demo/startDevIdp.ts";
import { BACKCHANNEL_LOGOUT_EVENT } from "../../src/oidc/verifyLogoutToken.ts";
import { reservePort } from "../harness/reservePort.ts";
import type { ReservedPort } from "../harness/reservePort.ts";
import { startStack, TEST_AUDIENCE } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

let stack: Stack;
/** Provider `op`: introspects at its discovered endpoint. */
let op: DevIdp;
/** `op`'s signing key, to sign its back-channel logout tokens. */
let opKey: SigningJwk;
/** Provider `down`: discovery and keys load, but its introspection endpoint resets every connection. */
let downIdp: DevIdp;
let closedPort: ReservedPort;

/** Settings of a provider that introspects as demo-cli; a clientId needs a redirectUri in our config. */
function introspectingProvider(idp: DevIdp, introspection: Record<string, unknown>) {
  return {
    issuer: idp.issuer,
    audiences: [TEST_AUDIENCE],
    allowInsecureHttp: true,
    discoveryTimeoutMs: 10_000,
    jwksTimeoutMs: 5000,
    requestTimeoutMs: 3000,
    clientId: idp.cliClient.id,
    clientSecret: idp.cliClient.secret,
    redirectUri: "https://localhost/oauth2/callback",
    introspection: { enabled: true, cacheTtlSeconds: 300, ...introspection },
  };
}

beforeAll(async () => {
  opKey = await createSigningJwk();
  [op, downIdp, closedPort] = await Promise.all([
    startDevIdp({ signingKeys: [opKey], audience: TEST_AUDIENCE }),
    createSigningJwk().then((key) => startDevIdp({ signingKeys: [key], audience: TEST_AUDIENCE })),
    reservePort(),
  ]);
  stack = await startStack({
    config: {
      providers: {
        op: introspectingProvider(op, {}),
        down: introspectingProvider(downIdp, { endpoint: `http://127.0.0.1:${closedPort.port}/token/introspection` }),
      },
      session: { keys: [randomBytes(32).toString("base64url")] },
    },
    routes: [
      {
        name: "read",
        match: { host: "localhost", path: "/read" },
        auth: "required",
        providers: ["op"],
        require: { scopes: ["api.read"] },
      },
      {
        name: "write",
        match: { host: "localhost", path: "/write" },
        auth: "required",
        providers: ["op"],
        require: { scopes: ["api.write"] },
      },
      { name: "down", match: { host: "localhost", path: "/down" }, auth: "required", providers: ["down"] },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
  await Promise.all([op?.close(), downIdp?.close(), closedPort?.release()]);
});

async function send(path: string, token: string) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { authorization: `Bearer ${token}`, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...res, error: (res.json as { error?: unknown } | undefined)?.error ?? null, upstream };
}

const introspections = (provider: string, result: string) =>
  stack.metric("portcullis_introspections_total", { provider, result });

/** RFC 7009 revocation at the dev IdP, as the client the token was issued to (demo-web). */
async function revoke(idp: DevIdp, token: string): Promise<void> {
  const basic = Buffer.from(`${DEMO_WEB_CLIENT_ID}:${idp.webClient.secret}`).toString("base64");
  const res = await fetch(`${idp.issuer}/token/revocation`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, token_type_hint: "access_token" }),
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`revocation answered ${res.status}`);
}

describe("an opaque token", () => {
  it("is introspected and allowed with the user's identity and the client it was issued to", async () => {
    const token = await op.opaqueToken("alice", ["openid", "api.read"]);
    expect(token.split(".")).toHaveLength(1); // not a JWT: only introspection can vouch for it
    const calls = op.counts.introspection;
    const active = await introspections("op", "active");

    const res = await send("/read/x", token);
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBe("alice");
    expect(res.upstream?.headers["x-client-id"]).toBe(DEMO_WEB_CLIENT_ID);
    expect(res.upstream?.headers["authorization"]).toBeUndefined();
    expect(op.counts.introspection).toBe(calls + 1);
    expect(await introspections("op", "active")).toBe(active + 1);
  });

  it("is judged by the scopes the IdP reports: without api.write it gets 403 insufficient_scope", async () => {
    const res = await send("/write/x", await op.opaqueToken("alice", ["openid", "api.read"]));
    expect([res.status, res.error, res.upstream]).toEqual([403, "insufficient_scope", undefined]);
    expect(String(res.headers["www-authenticate"])).toContain('scope="api.write"');
    expect((await send("/write/x", await op.opaqueToken("alice", ["openid", "api.write"]))).status).toBe(200);
  });

  it("is not introspected again within the cache TTL", async () => {
    const token = await op.opaqueToken("bob", ["openid", "api.read"]);
    expect((await send("/read/1", token)).status).toBe(200);
    const calls = op.counts.introspection;
    const hits = await introspections("op", "cache_hit");

    const again = await send("/read/2", token);
    expect(again.status).toBe(200);
    expect(again.upstream?.headers["x-user-sub"]).toBe("bob");
    // A cached answer still meets each route's requirements.
    expect((await send("/write/3", token)).status).toBe(403);
    expect(op.counts.introspection).toBe(calls);
    expect(await introspections("op", "cache_hit")).toBe(hits + 2);
  });

  it("sent by several requests at once costs one introspection call", async () => {
    const token = await op.opaqueToken("bob", ["openid", "api.read"]);
    const calls = op.counts.introspection;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => send(`/read/concurrent-${i}`, token)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(op.counts.introspection).toBe(calls + 1);
  });
});

describe("an opaque token the IdP says is not active", () => {
  it("refuses a revoked token with 401 token_inactive", async () => {
    const token = await op.opaqueToken("alice", ["openid", "api.read"]);
    await revoke(op, token);
    const inactive = await introspections("op", "inactive");
    const res = await send("/read/x", token);
    expect([res.status, res.error, res.upstream]).toEqual([401, "token_inactive", undefined]);
    expect(String(res.headers["www-authenticate"])).toContain('error="invalid_token"');
    expect(await introspections("op", "inactive")).toBe(inactive + 1);
  });

  it("refuses a token the IdP never issued with 401 token_inactive", async () => {
    const calls = op.counts.introspection;
    const res = await send("/read/x", randomBytes(32).toString("base64url"));
    expect([res.status, res.error, res.upstream]).toEqual([401, "token_inactive", undefined]);
    expect(op.counts.introspection).toBe(calls + 1);
  });
});

/** Posts `op`'s back-channel logout token for a user (`sub` only) to Portcullis, as the IdP would. */
async function logoutUser(sub: string): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    sub,
    aud: op.cliClient.id,
    jti: randomUUID(),
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  })
    .setProtectedHeader({ alg: "RS256", kid: opKey.kid, typ: "logout+jwt" })
    .setIssuer(op.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .sign(await importJWK(opKey, "RS256"));
  const res = await fetch(`${stack.portcullisAuthUrl}/oauth2/backchannel_logout`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ logout_token: token }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}

describe("an opaque token of a user the IdP logged out", () => {
  it("is refused with 401 token_revoked from the cached introspection answer, while another user's token passes", async () => {
    const token = await op.opaqueToken("bob", ["openid", "api.read"]);
    const other = await op.opaqueToken("alice", ["openid", "api.read"]);
    expect((await send("/read/1", token)).status).toBe(200);
    expect((await send("/read/2", token)).status).toBe(200);
    const calls = op.counts.introspection;

    expect(await logoutUser("bob")).toBe(200);
    const res = await send("/read/3", token);
    expect([res.status, res.error, res.upstream]).toEqual([401, "token_revoked", undefined]);
    expect(res.headers["www-authenticate"]).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="the token has been revoked"',
    );
    // The IdP was not asked again: the cached answer met the revocation list.
    expect(op.counts.introspection).toBe(calls);
    expect((await send("/read/4", other)).status).toBe(200);
  });
});

describe("an introspection endpoint that is down", () => {
  it("answers 503, never an allow, and counts the error", async () => {
    const errors = await introspections("down", "error");
    const token = await downIdp.opaqueToken("alice", ["openid", "api.read"]);
    for (const path of ["/down/1", "/down/2"]) {
      const res = await send(path, token);
      expect([path, res.status, res.upstream]).toEqual([path, 503, undefined]);
      // Portcullis answers by itself (a JSON denial), not Envoy's bare 503, and names the outage.
      expect(res.error).toBe("idp_unavailable");
    }
    // Failures are not cached: each request tried again, and each failure was counted.
    expect(await introspections("down", "error")).toBe(errors + 2);
    expect(downIdp.counts.introspection).toBe(0);
  });
});
