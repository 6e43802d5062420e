// The signed identity assertion through real Envoy: Portcullis adds it on the routes that ask for
// it, the demo's echo upstream verifies it the way the docs show (jose: createRemoteJWKSet on
// Portcullis's published keys, jwtVerify with issuer and audience), a client-sent one never reaches
// the upstream, and the upstream itself refuses a forged assertion and one minted for another
// audience. The keys and the discovery document are served through Envoy, public parts only.
import { randomUUID } from "node:crypto";
import { decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEchoUpstream, type EchoUpstream, type EchoedRequest } from "../../src/demo/startEchoUpstream.ts";
import { assertedRoute } from "../harness/assertedRoute.ts";
import { reservePort } from "../harness/reservePort.ts";
import { startStack, type Stack } from "../harness/startStack.ts";

const ISSUER = "https://portcullis.e2e.test";
const HEADER = "x-portcullis-assertion";

let stack: Stack;
let upstream: EchoUpstream;

beforeAll(async () => {
  // Envoy's upstream is an echo that verifies assertions for the audience "orders"; it binds once
  // Portcullis's auth listener (where it fetches the keys) is known.
  const port = await reservePort();
  stack = await startStack({
    upstreamPort: port.port,
    config: { identity: { assertion: { issuer: ISSUER } } },
    routes: [
      assertedRoute("orders"),
      assertedRoute("billing"),
      { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
      { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
    ],
  });
  await port.release();
  upstream = await startEchoUpstream({
    port: port.port,
    assertion: {
      issuer: ISSUER,
      audience: "orders",
      jwksUrl: () => `${stack.portcullisAuthUrl}/.well-known/jwks.json`,
    },
  });
}, 120_000);

afterAll(async () => {
  await upstream?.close();
  await stack?.close();
});

const personToken = () =>
  stack.signToken({ sub: "alice", email: "alice@example.com", roles: ["buyer"], client_id: undefined });

/** Sends a request through Envoy with a marker, and returns the answer and what the upstream got. */
async function send(path: string, headers: Record<string, string>) {
  const marker = randomUUID();
  const response = await stack.request(path, { headers: { "x-test-marker": marker, ...headers } });
  const seen = upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: response.status, upstream: seen };
}

/** Asks the upstream directly, as a service inside the network could, bypassing Envoy. */
async function sendDirect(path: string, assertion: string): Promise<EchoedRequest> {
  const res = await fetch(`http://127.0.0.1:${upstream.port}${path}`, { headers: { [HEADER]: assertion } });
  return (await res.json()) as EchoedRequest;
}

/** An assertion with the right issuer, audience and kid, signed by a key that is not Portcullis's. */
async function forgedAssertion(kid: string): Promise<string> {
  const { privateKey } = await generateKeyPair("ES256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: "admin", roles: ["admin"] })
    .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience("orders")
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(privateKey);
}

describe("the signed identity assertion through Envoy", () => {
  it("reaches the upstream, which verifies it with jose against the published keys", async () => {
    const res = await send("/orders/1", { authorization: `Bearer ${await personToken()}` });
    expect(res.status).toBe(200);
    expect(res.upstream?.assertion).toEqual({
      verified: true,
      claims: expect.objectContaining({
        iss: ISSUER,
        aud: "orders",
        sub: "alice",
        email: "alice@example.com",
        roles: ["buyer"],
        idp: stack.issuer,
      }),
    });
  });

  it("replaces a client-sent assertion on its routes and removes it everywhere else", async () => {
    const kid = decodeProtectedHeader(
      (await send("/orders/kid", { authorization: `Bearer ${await personToken()}` })).upstream!.headers[
        HEADER
      ] as string,
    ).kid!;
    const forged = await forgedAssertion(kid);
    const token = await personToken();
    const orders = await send("/orders/2", { authorization: `Bearer ${token}`, [HEADER]: forged });
    expect(orders.upstream?.headers[HEADER]).not.toBe(forged);
    expect(orders.upstream?.assertion).toMatchObject({ verified: true, claims: { sub: "alice" } });
    for (const [path, headers] of [
      ["/api/x", { authorization: `Bearer ${token}`, [HEADER]: forged }],
      ["/public/x", { [HEADER]: forged }],
    ] as const) {
      const res = await send(path, headers);
      expect(res.status, path).toBe(200);
      expect(res.upstream?.headers[HEADER], path).toBeUndefined();
      expect(res.upstream?.assertion, path).toEqual({ verified: false, reason: "no assertion" });
    }
  });

  it("is refused by the upstream when forged with another key, or replayed from another audience", async () => {
    const billing = await send("/billing/1", { authorization: `Bearer ${await personToken()}` });
    const minted = billing.upstream!.headers[HEADER] as string;
    // Minted for billing: Envoy routed it here too, and this upstream (audience orders) refused it.
    expect(billing.upstream?.assertion).toEqual({ verified: false, reason: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
    expect((await sendDirect("/orders/replayed", minted)).assertion).toEqual({
      verified: false,
      reason: "ERR_JWT_CLAIM_VALIDATION_FAILED",
    });
    const forged = await forgedAssertion(decodeProtectedHeader(minted).kid!);
    expect((await sendDirect("/orders/forged", forged)).assertion).toEqual({
      verified: false,
      reason: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
    const { publicKey } = await generateKeyPair("ES256");
    const unknownKid = `other-${(await exportJWK(publicKey)).x}`;
    expect((await sendDirect("/orders/unknown-key", await forgedAssertion(unknownKid))).assertion).toEqual({
      verified: false,
      reason: "ERR_JWKS_NO_MATCHING_KEY",
    });
  });

  it("publishes its public keys and a discovery document through Envoy, cacheable and without private parts", async () => {
    const jwks = await stack.request("/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    expect(jwks.headers["cache-control"]).toBe("public, max-age=300");
    const keys = (jwks.json as { keys: Record<string, string>[] }).keys;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(keys[0]).not.toHaveProperty("d");
    expect((await stack.request("/oauth2/jwks.json")).body).toBe(jwks.body);
    const discovery = await stack.request("/.well-known/openid-configuration");
    expect(discovery.status).toBe(200);
    expect(discovery.json).toMatchObject({ issuer: ISSUER, jwks_uri: `${ISSUER}/.well-known/jwks.json` });
  });

  it("lets nothing but its two documents past ext_authz under /.well-known/", async () => {
    const jwks = (await stack.request("/.well-known/jwks.json")).body;
    // A query string, or a path Envoy normalises to the exact one, still gets the document itself.
    const same = [
      "/.well-known/jwks.json?x=1",
      "/.well-known/./jwks.json",
      "/.well-known//jwks.json",
      "/.well-known/%6Awks.json",
    ];
    for (const path of same) {
      const res = await stack.request(path);
      expect([res.status, res.body], path).toEqual([200, jwks]);
    }
    // Anything else meets the gate: no route lists it here, so Portcullis denies it (a JSON body with
    // its error code), and neither Portcullis's auth listener nor the upstream answers it.
    for (const path of [
      "/.well-known/jwks.json/x",
      "/.well-known/jwks.jsonx",
      "/.well-known/JWKS.json",
      "/.well-known/security.txt",
      "/.well-known/jwks.json/../../oauth2x",
      "/.well-known/openid-configuration/../../orders/1",
    ]) {
      const marker = randomUUID();
      const res = await stack.request(path, { headers: { "x-test-marker": marker } });
      expect(res.status, path).not.toBe(200);
      expect(res.body, path).not.toBe(jwks);
      expect(
        upstream.requests().some((r) => r.headers["x-test-marker"] === marker),
        path,
      ).toBe(false);
    }
  });
});
