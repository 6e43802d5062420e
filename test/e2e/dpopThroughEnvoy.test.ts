// DPoP (RFC 9449) through the real Envoy and the dev IdP: openid-client gets a DPoP-bound token
// (cnf.jkt) and calls the API with a fresh proof, which is let through; a proof for another method
// or URI, a stale one, one for another token, one signed by another key, a replayed one, a missing
// one, and the bound token sent as a plain Bearer token are refused with 401 and RFC 9449's
// challenges. With nonces required, a proof without one gets use_dpop_nonce and a DPoP-Nonce, and
// openid-client's retry with that nonce gets through.
import { randomUUID } from "node:crypto";
import { decodeJwt } from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDpopClient, type DpopClient } from "../harness/dpopClient.ts";
import { startStack, type Stack } from "../harness/startStack.ts";

const ROUTES = [
  { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
  { name: "strict", match: { host: "localhost", path: "/strict" }, auth: "required", require: { boundTokens: "dpop" } },
  { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
];

let stack: Stack;
let nonceStack: Stack;
let dpop: DpopClient;
let accessToken: string;

beforeAll(async () => {
  [stack, nonceStack] = await Promise.all([
    startStack({ routes: ROUTES, provider: { dpop: { enabled: true } } }),
    startStack({ routes: ROUTES, provider: { dpop: { enabled: true, nonce: { required: true } } } }),
  ]);
  dpop = await startDpopClient(stack.idp(), stack.origin, stack.ca);
  const token = await dpop.token();
  expect(token.tokenType.toLowerCase()).toBe("dpop");
  accessToken = token.accessToken;
  // The IdP bound it to the client's key (RFC 9449 §6.1).
  expect(decodeJwt(accessToken)["cnf"]).toEqual({ jkt: dpop.jkt });
}, 120_000);

afterAll(async () => {
  await Promise.all([stack?.close(), nonceStack?.close()]);
});

/** A request through Envoy carrying a unique marker, and whether the upstream saw it. */
async function send(target: Stack, path: string, headers: Record<string, string>, method = "GET") {
  const marker = randomUUID();
  // The Host a client sends for the origin, port included: what a proof's htu names.
  const host = new URL(target.origin).host;
  const response = await target.request(path, { method, headers: { host, "x-test-marker": marker, ...headers } });
  const seen = target.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream: seen };
}

const errorOf = (res: { json: unknown }) => (res.json as { error?: unknown } | undefined)?.error;
const challengeOf = (res: { headers: Readonly<Record<string, unknown>> }) => String(res.headers["www-authenticate"]);

/** Sends the bound token with `proof` and expects a 401 invalid_dpop_proof that never reached the upstream. */
async function expectProofRefused(proof: string, path = "/api/things", method = "GET") {
  const res = await send(stack, path, { authorization: `DPoP ${accessToken}`, dpop: proof }, method);
  expect(res.status).toBe(401);
  expect(errorOf(res)).toBe("invalid_dpop_proof");
  expect(challengeOf(res)).toMatch(/\bDPoP\b[^,]*error="invalid_dpop_proof"/);
  expect(challengeOf(res)).toMatch(/algs="ES256 ES384 EdDSA PS256 RS256"/);
  expect(res.upstream).toBeUndefined();
}

describe("a DPoP-bound token", () => {
  it("is let through with openid-client's proof, as the machine it was issued to, without the proof", async () => {
    const res = await dpop.fetch(accessToken, "/api/things");
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { headers: Record<string, string> };
    expect(seen.headers["x-client-id"]).toBe("demo-cli");
    expect(seen.headers["authorization"]).toBeUndefined();
    expect(seen.headers["dpop"]).toBeUndefined();
  });

  it("is let through with a proof made by hand for the same request", async () => {
    const proof = await dpop.proof(accessToken, "/api/things?page=2");
    const res = await send(stack, "/api/things?page=2", { authorization: `DPoP ${accessToken}`, dpop: proof });
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-client-id"]).toBe("demo-cli");
  });

  it("checks htu against the scheme Envoy accepted, whatever X-Forwarded-Proto the client sends", async () => {
    const headers = (proof: string) => ({
      authorization: `DPoP ${accessToken}`,
      dpop: proof,
      "x-forwarded-proto": "http",
    });
    const https = await send(stack, "/api/things", headers(await dpop.proof(accessToken, "/api/things")));
    expect(https.status).toBe(200);
    const http = await dpop.proof(accessToken, "/api/things", {
      htu: `${stack.origin.replace("https:", "http:")}/api/things`,
    });
    await expectProofRefused(http);
    expect((await send(stack, "/api/things", headers(http))).status).toBe(401);
  });

  it("refuses a proof made for another method", async () => {
    await expectProofRefused(await dpop.proof(accessToken, "/api/things", { htm: "POST" }));
  });

  it("refuses a proof made for another URI", async () => {
    await expectProofRefused(await dpop.proof(accessToken, "/api/other"));
    await expectProofRefused(
      await dpop.proof(accessToken, "/api/things", { htu: "https://evil.example.com/api/things" }),
    );
  });

  it("refuses a proof whose iat is stale", async () => {
    await expectProofRefused(
      await dpop.proof(accessToken, "/api/things", { iat: Math.floor(Date.now() / 1000) - 120 }),
    );
  });

  it("refuses a proof made for another access token (wrong ath)", async () => {
    await expectProofRefused(await dpop.proof(accessToken, "/api/things", { ath: "x".repeat(43) }));
  });

  it("refuses a proof signed by another key than the token's cnf.jkt", async () => {
    const thief = await client.randomDPoPKeyPair("ES256");
    await expectProofRefused(await dpop.proof(accessToken, "/api/things", {}, thief));
  });

  it("refuses the same proof replayed", async () => {
    const proof = await dpop.proof(accessToken, "/api/things");
    const first = await send(stack, "/api/things", { authorization: `DPoP ${accessToken}`, dpop: proof });
    expect(first.status).toBe(200);
    await expectProofRefused(proof);
  });

  it("refuses a request without a proof", async () => {
    const res = await send(stack, "/api/things", { authorization: `DPoP ${accessToken}` });
    expect(res.status).toBe(401);
    expect(errorOf(res)).toBe("invalid_dpop_proof");
    expect(res.upstream).toBeUndefined();
  });

  it("refuses the token sent as a plain Bearer token, with or without a proof", async () => {
    for (const headers of [
      { authorization: `Bearer ${accessToken}` } as Record<string, string>,
      { authorization: `Bearer ${accessToken}`, dpop: await dpop.proof(accessToken, "/api/things") },
    ]) {
      const res = await send(stack, "/api/things", headers);
      expect(res.status).toBe(401);
      expect(challengeOf(res)).toMatch(/error="invalid_token"/);
      expect(res.upstream).toBeUndefined();
    }
  });

  it("is let through on a route that demands DPoP-bound tokens", async () => {
    const res = await dpop.fetch(accessToken, "/strict/reports");
    expect(res.status).toBe(200);
  });

  it("challenges a request without a token with both schemes", async () => {
    const res = await send(stack, "/api/things", {});
    expect(res.status).toBe(401);
    expect(challengeOf(res)).toMatch(/^Bearer realm="portcullis"/);
    expect(challengeOf(res)).toMatch(/DPoP algs="ES256 ES384 EdDSA PS256 RS256"/);
  });
});

describe("a token that is not DPoP-bound", () => {
  it("is refused with the DPoP scheme, even with a proof of its own (RFC 9449 §7.1)", async () => {
    const plain = await stack.clientCredentialsToken();
    expect(decodeJwt(plain)["cnf"]).toBeUndefined();
    const res = await send(stack, "/api/things", {
      authorization: `DPoP ${plain}`,
      dpop: await dpop.proof(plain, "/api/things"),
    });
    expect(res.status).toBe(401);
    expect(errorOf(res)).toBe("type_not_allowed");
    expect(res.upstream).toBeUndefined();
  });

  it("passes as Bearer where bound tokens are not demanded, and gets the DPoP challenge alone where they are", async () => {
    const plain = await stack.clientCredentialsToken();
    expect((await send(stack, "/api/things", { authorization: `Bearer ${plain}` })).status).toBe(200);
    const res = await send(stack, "/strict/reports", { authorization: `Bearer ${plain}` });
    expect(res.status).toBe(401);
    expect(errorOf(res)).toBe("bound_token_required");
    expect(challengeOf(res)).toMatch(/^DPoP error="invalid_token", [^,]+, algs="ES256 ES384 EdDSA PS256 RS256"$/);
    expect(res.upstream).toBeUndefined();
  });
});

describe("server nonces", () => {
  it("answer a proof without a nonce with use_dpop_nonce and a DPoP-Nonce, and let the proof with it through", async () => {
    const client2 = await startDpopClient(nonceStack.idp(), nonceStack.origin, nonceStack.ca);
    const { accessToken: token } = await client2.token();
    const first = await send(nonceStack, "/api/things", {
      authorization: `DPoP ${token}`,
      dpop: await client2.proof(token, "/api/things"),
    });
    expect(first.status).toBe(401);
    expect(errorOf(first)).toBe("use_dpop_nonce");
    expect(challengeOf(first)).toMatch(/\bDPoP\b[^,]*error="use_dpop_nonce"/);
    const nonce = String(first.headers["dpop-nonce"]);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{30}$/);
    expect(first.upstream).toBeUndefined();

    const second = await send(nonceStack, "/api/things", {
      authorization: `DPoP ${token}`,
      dpop: await client2.proof(token, "/api/things", { nonce }),
    });
    expect(second.status).toBe(200);
    expect(second.upstream?.headers["x-client-id"]).toBe("demo-cli");
  });

  it("are picked up by openid-client, which retries once with the nonce it was given", async () => {
    const client3 = await startDpopClient(nonceStack.idp(), nonceStack.origin, nonceStack.ca);
    const { accessToken: token } = await client3.token();
    const asked = () => nonceStack.metric("portcullis_checks_total", { reason: "use_dpop_nonce" });
    const before = await asked();
    const res = await client3.fetch(token, "/api/things");
    expect(res.status).toBe(200);
    expect((await asked()) - before).toBe(1);
  });
});
