import { createHash } from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import {
  createLoginClient,
  REFRESH_MEMORY_MS,
  type LoginClient,
  type LoginClientOptions,
  type LoginTransaction,
} from "../../src/oidc/createLoginClient.ts";
import type { LoginErrorCode } from "../../src/errors/ErrorCode.ts";
import { LoginError } from "../../src/oidc/LoginError.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { reservePort } from "../harness/reservePort.ts";
import {
  CookieJar,
  loginAtTestOp,
  startTestOp,
  TEST_OP_POST_LOGOUT_URI,
  TEST_OP_PUBLIC_CLIENT_ID,
  type TestOp,
} from "../harness/startTestOp.ts";

let op: TestOp;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  op = await startTestOp({ accessTokenTtlSeconds: 60 });
});
afterAll(async () => {
  await op.close();
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function loginClient(overrides: Partial<LoginClientOptions> = {}): LoginClient {
  return createLoginClient({
    providerName: "test-op",
    issuer: op.issuer,
    metadata: op.metadata,
    keys: createRemoteJWKSet(new URL(op.metadata["jwks_uri"] as string)),
    clientId: op.clientId,
    clientSecret: op.clientSecret,
    redirectUri: op.redirectUri,
    scopes: ["openid", "profile", "email"],
    algorithms: ["RS256"],
    clockToleranceSeconds: 5,
    timeoutMs: 5000,
    allowInsecureHttp: true,
    ...overrides,
  });
}

/** begin() → the IdP's login → the callback parameters, as a browser would bring them back. */
async function callbackFor(
  client: LoginClient,
  user = "alice",
): Promise<{ params: URLSearchParams; txn: LoginTransaction }> {
  const { url, transaction } = await client.begin({ returnTo: "https://app.example.test/reports?q=1" });
  const params = await loginAtTestOp(url, op.redirectUri, user);
  return { params, txn: transaction };
}

async function expectLoginError(promise: Promise<unknown>, code: LoginErrorCode): Promise<LoginError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LoginError);
  expect((err as LoginError).code).toBe(code);
  return err as LoginError;
}

describe("begin", () => {
  it("builds an authorization URL with state, nonce and an S256 challenge, keeping the verifier out of it", async () => {
    const client = loginClient();
    const first = await client.begin({
      returnTo: "https://app.example.test/a",
      acrValues: ["urn:mfa", "urn:pwd"],
      maxAge: 300,
      prompt: "login",
    });
    const second = await client.begin({ returnTo: "https://app.example.test/b" });
    const url = new URL(first.url);
    expect(`${url.origin}${url.pathname}`).toBe(op.metadata["authorization_endpoint"]);
    const q = url.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe(op.clientId);
    expect(q.get("redirect_uri")).toBe(op.redirectUri);
    expect(q.get("scope")).toBe("openid profile email");
    expect(q.get("state")).toBe(first.transaction.state);
    expect(q.get("nonce")).toBe(first.transaction.nonce);
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toBe(
      createHash("sha256").update(first.transaction.codeVerifier).digest("base64url"),
    );
    expect(q.get("acr_values")).toBe("urn:mfa urn:pwd");
    expect(q.get("max_age")).toBe("300");
    expect(q.get("prompt")).toBe("login");
    expect(first.url).not.toContain(first.transaction.codeVerifier);
    expect(first.transaction).toMatchObject({
      returnTo: "https://app.example.test/a",
      provider: "test-op",
      acrValues: ["urn:mfa", "urn:pwd"],
      maxAge: 300,
    });
    expect(Math.abs(first.transaction.createdAt - Date.now() / 1000)).toBeLessThan(5);
    // Fresh values for every login.
    expect(second.transaction.state).not.toBe(first.transaction.state);
    expect(second.transaction.nonce).not.toBe(first.transaction.nonce);
    expect(second.transaction.codeVerifier).not.toBe(first.transaction.codeVerifier);
    const q2 = new URL(second.url).searchParams;
    expect(q2.has("acr_values") || q2.has("max_age") || q2.has("prompt")).toBe(false);
  });

  it("asks an incremental consent for the configured, the kept and the added scopes, each once, and records only the added", async () => {
    const client = loginClient();
    const { url, transaction } = await client.begin({
      returnTo: "https://app.example.test/a",
      scopes: { add: ["reports.read"], keep: ["email", "orders.read"] },
    });
    expect(new URL(url).searchParams.get("scope")).toBe("openid profile email orders.read reports.read");
    expect(transaction.scopes).toEqual(["reports.read"]);
  });

  it("refuses a consent scope that is not an RFC 6749 scope token", async () => {
    const client = loginClient();
    for (const bad of ["a b", 'a"b', "a\\b", ""])
      await expect(
        client.begin({ returnTo: "https://app.example.test/a", scopes: { add: [bad], keep: [] } }),
        JSON.stringify(bad),
      ).rejects.toThrow(TypeError);
  });
});

describe("complete", () => {
  it("logs in at a real OpenID Provider and returns verified claims and tokens", async () => {
    const client = loginClient();
    const { params, txn } = await callbackFor(client);
    const result = await client.complete(params, txn);
    expect(result.idTokenClaims).toMatchObject({ iss: op.issuer, sub: "alice", aud: op.clientId, nonce: txn.nonce });
    expect(result.idToken.split(".")).toHaveLength(3);
    expect(result.accessToken.length).toBeGreaterThan(10);
    expect(typeof result.refreshToken).toBe("string");
    expect(result.scope).toBe("openid profile email");
    // expires_in from the IdP (60 s in this test IdP).
    expect(Math.abs(result.accessTokenExpiresAt - (Math.floor(Date.now() / 1000) + 60))).toBeLessThanOrEqual(2);
  });

  it("refuses a callback whose state is not the transaction's without calling the token endpoint", async () => {
    const client = loginClient();
    const { params, txn } = await callbackFor(client);
    const before = op.count("/token");
    const wrong = new URLSearchParams(params);
    wrong.set("state", `${txn.state}x`);
    await expectLoginError(client.complete(wrong, txn), "state_mismatch");
    const missing = new URLSearchParams(params);
    missing.delete("state");
    await expectLoginError(client.complete(missing, txn), "state_mismatch");
    await expectLoginError(client.complete(params, { ...txn, provider: "another" }), "state_mismatch");
    expect(op.count("/token")).toBe(before);
    // The untouched callback still works: nothing was spent.
    await expect(client.complete(params, txn)).resolves.toMatchObject({ idTokenClaims: { sub: "alice" } });
  });

  it("refuses a callback without the advertised iss parameter or with another issuer", async () => {
    expect(op.metadata["authorization_response_iss_parameter_supported"]).toBe(true);
    const client = loginClient();
    const { params, txn } = await callbackFor(client);
    expect(params.get("iss")).toBe(op.issuer);
    const before = op.count("/token");
    const missing = new URLSearchParams(params);
    missing.delete("iss");
    await expectLoginError(client.complete(missing, txn), "response_issuer_mismatch");
    const other = new URLSearchParams(params);
    other.set("iss", "https://attacker.example");
    await expectLoginError(client.complete(other, txn), "response_issuer_mismatch");
    expect(op.count("/token")).toBe(before);
  });

  it("reports the IdP's error code, and only when it is a plain code", async () => {
    const client = loginClient();
    const { url, transaction } = await client.begin({ returnTo: "https://app.example.test/", prompt: "none" });
    // No session at the IdP and prompt=none: the real IdP answers login_required.
    const params = await loginAtTestOp(url, op.redirectUri, "alice", new CookieJar());
    const err = await expectLoginError(client.complete(params, transaction), "idp_error");
    expect(err.idpError).toBe("login_required");
    const hostile = new URLSearchParams(params);
    hostile.set("error", "<script>alert(1)</script>");
    const hostileErr = await expectLoginError(client.complete(hostile, transaction), "idp_error");
    expect(hostileErr.idpError).toBeNull();
    expect(hostileErr.message).not.toContain("<script>");
  });

  it("fails a replayed authorization code with invalid_grant", async () => {
    const client = loginClient();
    const { params, txn } = await callbackFor(client);
    await client.complete(params, txn);
    const err = await expectLoginError(client.complete(params, txn), "invalid_grant");
    expect(err.message).not.toContain(params.get("code")!);
  });

  it("refuses an ID token whose nonce is not the transaction's", async () => {
    const client = loginClient();
    const { params, txn } = await callbackFor(client);
    await expectLoginError(client.complete(params, { ...txn, nonce: "another-nonce" }), "nonce_mismatch");
  });

  it("refuses an ID token from the real IdP when its algorithm is not in the allowlist", async () => {
    const client = loginClient({ algorithms: ["ES256"] });
    const { params, txn } = await callbackFor(client);
    const err = await expectLoginError(client.complete(params, txn), "id_token_invalid");
    expect(err.message).toContain("alg_not_allowed");
  });

  it("logs in as a public client with PKCE only", async () => {
    const client = loginClient({ clientId: TEST_OP_PUBLIC_CLIENT_ID, clientSecret: null });
    const { params, txn } = await callbackFor(client);
    const result = await client.complete(params, txn);
    expect(result.idTokenClaims).toMatchObject({ sub: "alice", aud: TEST_OP_PUBLIC_CLIENT_ID });
    expect(typeof result.refreshToken).toBe("string");
  });

  it("asks for and checks a recent authentication when max_age is given", async () => {
    const client = loginClient();
    const { url, transaction } = await client.begin({ returnTo: "https://app.example.test/", maxAge: 600 });
    const result = await client.complete(await loginAtTestOp(url, op.redirectUri, "alice"), transaction);
    expect(typeof result.idTokenClaims.auth_time).toBe("number");
  });

  it("answers token_endpoint_unavailable quickly when the token endpoint is down", async () => {
    const down = await reservePort(); // resets every connection
    cleanups.push(() => down.release());
    const client = loginClient({
      metadata: { ...op.metadata, token_endpoint: `http://127.0.0.1:${down.port}/token` },
      timeoutMs: 300,
    });
    const { params, txn } = await callbackFor(client);
    const started = performance.now();
    await expectLoginError(client.complete(params, txn), "token_endpoint_unavailable");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("answers token_endpoint_unavailable after the timeout when the token endpoint never answers", async () => {
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const client = loginClient({ metadata: { ...op.metadata, token_endpoint: `${silent.url}/token` }, timeoutMs: 300 });
    const { params, txn } = await callbackFor(client);
    const started = performance.now();
    const err = await expectLoginError(client.complete(params, txn), "token_endpoint_unavailable");
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    expect(err.message).toContain("timed out after 300 ms");
    expect(silent.connections()).toBe(1);
  });
});

describe("complete with a crafted token endpoint (faults the real IdP does not produce)", () => {
  interface Crafted {
    readonly client: LoginClient;
    readonly txn: LoginTransaction;
    readonly params: URLSearchParams;
    readonly claims: JWTPayload;
    readonly rsa: CryptoKey;
    readonly ec: CryptoKey;
    readonly keys: LoginClientOptions["keys"];
    readonly tokenEndpoint: string;
    respond: (body: unknown, status?: number) => void;
    last: () => { headers: Record<string, string | string[] | undefined>; body: URLSearchParams } | undefined;
  }

  async function crafted(): Promise<Crafted> {
    const rsa = await keyPair("RS256", "rsa-1");
    const ec = await keyPair("ES256", "ec-1");
    const endpoint = await startScriptedTokenEndpoint();
    cleanups.push(() => endpoint.close());
    // Both keys verify signatures; only RS256 is allowed.
    const keys = createLocalJWKSet({ keys: [rsa.publicJwk, ec.publicJwk] });
    const tokenEndpoint = `${endpoint.url}/token`;
    const client = loginClient({ metadata: { ...op.metadata, token_endpoint: tokenEndpoint }, keys });
    const { transaction: txn } = await client.begin({ returnTo: "https://app.example.test/" });
    const params = new URLSearchParams({ code: "crafted-code", state: txn.state, iss: op.issuer });
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      iss: op.issuer,
      sub: "alice",
      aud: op.clientId,
      nonce: txn.nonce,
      iat: now,
      exp: now + 600,
    };
    return {
      client,
      txn,
      params,
      claims,
      rsa: rsa.privateKey,
      ec: ec.privateKey,
      keys,
      tokenEndpoint,
      respond: endpoint.respond,
      last: endpoint.last,
    };
  }

  const tokens = (idToken: string) => ({
    access_token: "opaque-at",
    token_type: "Bearer",
    expires_in: 120,
    id_token: idToken,
  });

  it("accepts a well-formed ID token signed with an allowed algorithm (control)", async () => {
    const c = await crafted();
    c.respond(tokens(await sign(c.claims, c.rsa, "RS256", "rsa-1")));
    await expect(c.client.complete(c.params, c.txn)).resolves.toMatchObject({
      idTokenClaims: { sub: "alice" },
      refreshToken: null,
    });
  });

  it("refuses an ID token signed with an algorithm outside the allowlist even when a key verifies it", async () => {
    const c = await crafted();
    c.respond(tokens(await sign(c.claims, c.ec, "ES256", "ec-1")));
    const err = await expectLoginError(c.client.complete(c.params, c.txn), "id_token_invalid");
    expect(err.message).toContain("alg_not_allowed");
  });

  it.each([
    ["several audiences and no azp", { aud: ["portcullis-test", "someone-else"] }],
    ["an azp that is not the client", { azp: "someone-else" }],
    ["an iat far in the future", { iat: Math.floor(Date.now() / 1000) + 3600 }],
    ["another issuer", { iss: "https://attacker.example" }],
    ["an expired exp", { exp: Math.floor(Date.now() / 1000) - 3600 }],
  ])("refuses an ID token with %s", async (_name, change) => {
    const c = await crafted();
    c.respond(tokens(await sign({ ...c.claims, ...change }, c.rsa, "RS256", "rsa-1")));
    await expectLoginError(c.client.complete(c.params, c.txn), "id_token_invalid");
  });

  it("refuses an ID token whose auth_time is older than the max_age asked for", async () => {
    const c = await crafted();
    const { transaction } = await c.client.begin({ returnTo: "https://app.example.test/", maxAge: 60 });
    const params = new URLSearchParams({ code: "crafted-code", state: transaction.state, iss: op.issuer });
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...c.claims, nonce: transaction.nonce };
    c.respond(tokens(await sign({ ...claims, auth_time: now - 3600 }, c.rsa, "RS256", "rsa-1")));
    await expectLoginError(c.client.complete(params, transaction), "id_token_invalid");
    c.respond(tokens(await sign({ ...claims, auth_time: now - 10 }, c.rsa, "RS256", "rsa-1")));
    await expect(c.client.complete(params, transaction)).resolves.toMatchObject({
      idTokenClaims: { auth_time: now - 10 },
    });
  });

  it("sends the PKCE verifier with client_secret_basic, or client_secret_post when that is all the provider supports", async () => {
    const c = await crafted();
    c.respond(tokens(await sign(c.claims, c.rsa, "RS256", "rsa-1")));
    await c.client.complete(c.params, c.txn);
    const basic = c.last()!;
    expect(basic.body.get("grant_type")).toBe("authorization_code");
    expect(basic.body.get("code_verifier")).toBe(c.txn.codeVerifier);
    expect(basic.body.get("redirect_uri")).toBe(op.redirectUri);
    expect(basic.body.has("client_secret")).toBe(false);
    const [scheme, encoded] = String(basic.headers["authorization"]).split(" ");
    expect(scheme).toBe("Basic");
    // RFC 6749 §2.3.1: both parts form-urlencoded before base64.
    const [id, secret] = Buffer.from(encoded!, "base64")
      .toString()
      .split(":")
      .map((part) => decodeURIComponent(part));
    expect([id, secret]).toEqual([op.clientId, op.clientSecret]);

    const postOnly = loginClient({
      metadata: {
        ...op.metadata,
        token_endpoint: c.tokenEndpoint,
        token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt"],
      },
      keys: c.keys,
    });
    await postOnly.complete(c.params, c.txn);
    const post = c.last()!;
    expect(post.headers["authorization"]).toBeUndefined();
    expect(post.body.get("client_id")).toBe(op.clientId);
    expect(post.body.get("client_secret")).toBe(op.clientSecret);
  });

  it("refuses a token response without an ID token", async () => {
    const c = await crafted();
    c.respond({ access_token: "opaque-at", token_type: "Bearer" });
    await expectLoginError(c.client.complete(c.params, c.txn), "id_token_invalid");
  });

  it("maps token-endpoint answers: 5xx unavailable, invalid_client error, garbage error", async () => {
    const c = await crafted();
    c.respond({ error: "server_error" }, 503);
    await expectLoginError(c.client.complete(c.params, c.txn), "token_endpoint_unavailable");
    c.respond({ error: "invalid_client" }, 400);
    const refused = await expectLoginError(c.client.complete(c.params, c.txn), "token_endpoint_error");
    expect(refused.idpError).toBe("invalid_client");
    c.respond("<html>not json</html>", 200);
    await expectLoginError(c.client.complete(c.params, c.txn), "token_endpoint_error");
  });

  it("takes the access token's lifetime from its exp when expires_in is missing, else five minutes", async () => {
    const c = await crafted();
    const idToken = await sign(c.claims, c.rsa, "RS256", "rsa-1");
    const atExp = Math.floor(Date.now() / 1000) + 1234;
    const jwtAccessToken = await sign({ exp: atExp, sub: "alice" }, c.rsa, "RS256", "rsa-1");
    c.respond({ access_token: jwtAccessToken, token_type: "Bearer", id_token: idToken });
    expect((await c.client.complete(c.params, c.txn)).accessTokenExpiresAt).toBe(atExp);
    c.respond({ access_token: "opaque", token_type: "Bearer", id_token: idToken });
    const opaque = await c.client.complete(c.params, c.txn);
    expect(Math.abs(opaque.accessTokenExpiresAt - (Math.floor(Date.now() / 1000) + 300))).toBeLessThanOrEqual(2);
  });

  it("ends the session when a refresh returns an ID token for another subject or issuer", async () => {
    const c = await crafted();
    const now = Math.floor(Date.now() / 1000);
    const refreshed = { iss: op.issuer, sub: "mallory", aud: op.clientId, iat: now, exp: now + 600 };
    c.respond({ ...tokens(await sign(refreshed, c.rsa, "RS256", "rsa-1")), refresh_token: "rt-2" });
    await expectLoginError(c.client.refresh("rt-sub", { sub: "alice" }), "subject_changed");
    c.respond({
      ...tokens(await sign({ ...refreshed, sub: "alice", iss: "https://other.example" }, c.rsa, "RS256", "rsa-1")),
      refresh_token: "rt-3",
    });
    await expectLoginError(c.client.refresh("rt-iss", { sub: "alice" }), "subject_changed");
    // Same subject: the new tokens, and the old refresh token kept when the IdP sends none.
    c.respond(tokens(await sign({ ...refreshed, sub: "alice" }, c.rsa, "RS256", "rsa-1")));
    await expect(c.client.refresh("rt-same", { sub: "alice" })).resolves.toMatchObject({
      accessToken: "opaque-at",
      refreshToken: "rt-same",
    });
  });
});

describe("refresh", () => {
  async function loggedIn(client: LoginClient) {
    const { params, txn } = await callbackFor(client);
    const result = await client.complete(params, txn);
    expect(result.refreshToken).not.toBeNull();
    return result as typeof result & { refreshToken: string };
  }

  it("shares one token-endpoint call among 20 concurrent refreshes of the same token", async () => {
    const client = loginClient();
    const login = await loggedIn(client);
    const before = op.count("/token");
    const results = await Promise.all(
      Array.from({ length: 20 }, () => client.refresh(login.refreshToken, { sub: "alice" })),
    );
    expect(op.count("/token")).toBe(before + 1);
    const rotated = results[0]!.refreshToken;
    expect(rotated).not.toBe(login.refreshToken);
    for (const r of results) {
      expect(r.refreshToken).toBe(rotated);
      expect(r.accessToken).toBe(results[0]!.accessToken);
      expect(r.idTokenClaims).toMatchObject({ sub: "alice", iss: op.issuer });
    }
    expect(results[0]!.accessToken).not.toBe(login.accessToken);
  });

  it("replays the outcome to the pre-rotation token for a minute, then the IdP sees the reuse as invalid_grant", async () => {
    const clock = createManualClock();
    const client = loginClient({ clock });
    const login = await loggedIn(client);
    const before = op.count("/token");
    const first = await client.refresh(login.refreshToken, { sub: "alice" });
    const again = await client.refresh(login.refreshToken, { sub: "alice" });
    expect(again).toEqual(first);
    expect(op.count("/token")).toBe(before + 1);

    clock.advance(REFRESH_MEMORY_MS + 1000);
    await expectLoginError(client.refresh(login.refreshToken, { sub: "alice" }), "invalid_grant");
    expect(op.count("/token")).toBe(before + 2);
    // The refusal is remembered too: no retry storm from requests carrying the old cookie.
    await expectLoginError(client.refresh(login.refreshToken, { sub: "alice" }), "invalid_grant");
    expect(op.count("/token")).toBe(before + 2);
    // oidc-provider revokes the whole grant on reuse: the rotated token is dead as well.
    await expectLoginError(client.refresh(first.refreshToken, { sub: "alice" }), "invalid_grant");
  });

  it("does not remember an unreachable token endpoint, so a later refresh tries again", async () => {
    const endpoint = await startScriptedTokenEndpoint();
    cleanups.push(() => endpoint.close());
    endpoint.respond({ error: "temporarily_unavailable" }, 503);
    const client = loginClient({ metadata: { ...op.metadata, token_endpoint: `${endpoint.url}/token` } });
    await expectLoginError(client.refresh("rt-1", { sub: "alice" }), "token_endpoint_unavailable");
    await expectLoginError(client.refresh("rt-1", { sub: "alice" }), "token_endpoint_unavailable");
    expect(endpoint.requests()).toBe(2);
  });

  it("refuses a refreshed identity that is not the session's subject", async () => {
    const client = loginClient();
    const login = await loggedIn(client);
    await expectLoginError(client.refresh(login.refreshToken, { sub: "bob" }), "subject_changed");
  });
});

describe("endSessionUrl", () => {
  it("points at the IdP's end_session_endpoint with client_id and post_logout_redirect_uri, and no ID token by default", async () => {
    const client = loginClient();
    const { params, txn } = await callbackFor(client);
    const { idToken } = await client.complete(params, txn);
    const url = new URL(
      client.endSessionUrl({ idTokenHint: idToken, postLogoutRedirectUri: TEST_OP_POST_LOGOUT_URI, state: "s1" })!,
    );
    expect(`${url.origin}${url.pathname}`).toBe(op.metadata["end_session_endpoint"]);
    expect(url.searchParams.get("id_token_hint")).toBeNull();
    expect(url.searchParams.get("client_id")).toBe(op.clientId);
    expect(url.searchParams.get("post_logout_redirect_uri")).toBe(TEST_OP_POST_LOGOUT_URI);
    // The real IdP accepts it: it shows its logout confirmation rather than an error.
    const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("logout");
  });

  it("sends id_token_hint when the provider's logout.idTokenHint says its IdP needs it", async () => {
    const client = loginClient({ logout: { method: "end_session", url: null, idTokenHint: true } });
    const { params, txn } = await callbackFor(client);
    const { idToken } = await client.complete(params, txn);
    const url = new URL(
      client.endSessionUrl({ idTokenHint: idToken, postLogoutRedirectUri: TEST_OP_POST_LOGOUT_URI, state: "s1" })!,
    );
    expect(`${url.origin}${url.pathname}`).toBe(op.metadata["end_session_endpoint"]);
    expect(url.searchParams.get("id_token_hint")).toBe(idToken);
    expect(url.searchParams.get("post_logout_redirect_uri")).toBe(TEST_OP_POST_LOGOUT_URI);
    expect(url.searchParams.get("client_id")).toBe(op.clientId);
    expect(url.searchParams.get("state")).toBe("s1");
    // The real IdP accepts it: it shows its logout confirmation rather than an error.
    const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("logout");
  });

  it("is null when the provider has no end_session_endpoint", () => {
    const { end_session_endpoint: _dropped, ...metadata } = op.metadata;
    const client = loginClient({ metadata });
    expect(client.endSessionUrl({ idTokenHint: null, postLogoutRedirectUri: null })).toBeNull();
  });
});

// --- loopback helpers for faults -------------------------------------------------------------

async function keyPair(alg: string, kid: string): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

function sign(claims: JWTPayload, key: CryptoKey, alg: string, kid: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: "JWT" }).sign(key);
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A token endpoint that answers whatever the test scripted, counting requests. */
async function startScriptedTokenEndpoint() {
  let answer: { body: unknown; status: number } = { body: { error: "server_error" }, status: 500 };
  let requests = 0;
  let last: { headers: Record<string, string | string[] | undefined>; body: URLSearchParams } | undefined;
  const server = createHttpServer((req, res) => {
    requests += 1;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      last = { headers: req.headers, body: new URLSearchParams(Buffer.concat(chunks).toString("utf8")) };
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        "content-type": typeof answer.body === "string" ? "text/html" : "application/json",
        "cache-control": "no-store",
      });
      res.end(text);
    });
  });
  const url = await listen(server);
  return {
    url,
    requests: () => requests,
    last: () => last,
    respond(body: unknown, status = 200) {
      answer = { body, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Accepts connections and never answers: a hung IdP. */
async function startSilentServer() {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const url = await listen(server);
  return {
    url,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
