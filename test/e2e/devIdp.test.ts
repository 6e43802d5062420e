// The dev IdP as the other tests rely on it, over real HTTP without Portcullis: machine tokens of both
// demo clients (RFC 9068, no person in them), `demo token` scope selection against a running demo
// state, user tokens with the login's strength (bound to a certificate on request), opaque tokens
// and introspection, and the counters.

import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeJwt } from "jose";
import type { JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { writeDemoState } from "../../src/demo/startDemo.ts";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import {
  DEMO_BATCH_CLIENT_ID,
  DEMO_CLIENT_ID,
  DEMO_WEB_CLIENT_ID,
  LOA_PASSWORD,
  LOA_SECOND_FACTOR,
  MINT_USER_TOKEN_PATH,
  startDevIdp,
} from "../../src/demo/startDevIdp.ts";
import type { DevIdp } from "../../src/demo/startDevIdp.ts";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const PERSON_CLAIMS = ["email", "roles", "name", "acr", "amr", "auth_time"];

let idp: DevIdp;
let demoDir: string;
const mintSecret = "test-mint-secret-0123456789";

beforeAll(async () => {
  idp = await startDevIdp({ signingKeys: [await createSigningJwk()], mintSecret });
  // A demo state that points `demo token` at this IdP, owned by this (live) process.
  demoDir = await mkdtemp(join(tmpdir(), "portcullis-devidp-"));
  await writeDemoState(demoDir, {
    pid: process.pid,
    entryUrl: "https://localhost:1",
    issuer: idp.issuer,
    tokenEndpoint: idp.tokenEndpoint,
    resource: idp.resource,
    audience: idp.audience,
    clients: {
      [DEMO_CLIENT_ID]: idp.cliClient,
      [DEMO_BATCH_CLIENT_ID]: idp.batchClient,
      [DEMO_WEB_CLIENT_ID]: idp.webClient,
    },
    mintUrl: `${idp.issuer}${MINT_USER_TOKEN_PATH}`,
    mintSecret,
  });
});

afterAll(async () => {
  await idp?.close();
  if (demoDir !== undefined) await rm(demoDir, { recursive: true, force: true });
});

const scopesOf = (claims: JWTPayload) =>
  String(claims.scope ?? "")
    .split(" ")
    .filter(Boolean);

async function demoToken(args: string[]): Promise<{ code: number | null; token: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", MAIN, "demo", "token", ...args],
      {
        env: { ...process.env, PORTCULLIS_DEMO_DIR: demoDir },
        timeout: 15_000,
      },
    );
    return { code: 0, token: stdout.trim().split("\n").at(-1) ?? "", stderr };
  } catch (error) {
    const e = error as { code?: unknown; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : null, token: "", stderr: e.stderr ?? "" };
  }
}

async function introspect(token: string, client: { id: string; secret: string }): Promise<Record<string, unknown>> {
  const res = await fetch(idp.introspectionEndpoint, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token }),
    signal: AbortSignal.timeout(5000),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe("client-credentials tokens of the dev IdP", () => {
  it("name demo-cli in sub and client_id, carry its API scopes and the API audience, and nothing of a person", async () => {
    const claims = decodeJwt(await idp.clientCredentialsToken());
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: idp.audience,
      sub: DEMO_CLIENT_ID,
      client_id: DEMO_CLIENT_ID,
    });
    expect(scopesOf(claims)).toEqual(["api.read", "api.write"]);
    for (const claim of PERSON_CLAIMS) expect(claims).not.toHaveProperty(claim);
  });

  it("name the second machine client demo-batch, which may only read", async () => {
    const claims = decodeJwt(await idp.clientCredentialsToken(undefined, DEMO_BATCH_CLIENT_ID));
    expect(claims).toMatchObject({ sub: DEMO_BATCH_CLIENT_ID, client_id: DEMO_BATCH_CLIENT_ID, aud: idp.audience });
    expect(scopesOf(claims)).toEqual(["api.read"]);
    for (const claim of PERSON_CLAIMS) expect(claims).not.toHaveProperty(claim);
    await expect(idp.clientCredentialsToken(["api.write"], DEMO_BATCH_CLIENT_ID)).rejects.toThrow(/invalid_scope/);
  });
});

describe("`demo token` scope and client selection", () => {
  // The CLI runs are independent processes: start them together, each test reads its own.
  const runs: Record<string, Promise<{ code: number | null; token: string; stderr: string }>> = {};
  beforeAll(() => {
    const argsByName: Record<string, string[]> = {
      default: [],
      openid: ["--scope", "openid"],
      both: ["--scope", "api.read", "--scope", "api.write"],
      batch: ["--client", DEMO_BATCH_CLIENT_ID],
      user: ["--user", "bob"],
      web: ["--client", DEMO_WEB_CLIENT_ID],
    };
    for (const [name, args] of Object.entries(argsByName)) runs[name] = demoToken(args);
  });

  it("asks for api.read alone by default, as demo-cli", async () => {
    const out = await runs.default!;
    expect(out.code).toBe(0);
    const claims = decodeJwt(out.token);
    expect(claims.client_id).toBe(DEMO_CLIENT_ID);
    expect(scopesOf(claims)).toEqual(["api.read"]);
  });

  it("replaces the default with --scope, so --scope openid gives a token without api.read", async () => {
    const out = await runs.openid!;
    expect(out.code).toBe(0);
    expect(scopesOf(decodeJwt(out.token))).not.toContain("api.read");
  });

  it("takes --scope more than once and --client demo-batch", async () => {
    const both = await runs.both!;
    expect(scopesOf(decodeJwt(both.token)).sort()).toEqual(["api.read", "api.write"]);
    const batch = await runs.batch!;
    expect(batch.code).toBe(0);
    expect(decodeJwt(batch.token)).toMatchObject({ client_id: DEMO_BATCH_CLIENT_ID, scope: "api.read" });
  });

  it("mints a user token with --user, api.read by default, and refuses the browser client for --client", async () => {
    const user = await runs.user!;
    expect(user.code).toBe(0);
    const claims = decodeJwt(user.token);
    expect(claims).toMatchObject({
      sub: "bob",
      email: "bob@example.com",
      roles: ["user"],
      acr: LOA_PASSWORD,
      amr: ["pwd"],
    });
    expect(scopesOf(claims)).toEqual(["openid", "api.read"]);
    const web = await runs.web!;
    expect(web.code).toBe(1);
    expect(web.token).toBe("");
    expect(web.stderr).toMatch(/browser client/);
  });
});

describe("user tokens minted by the dev IdP", () => {
  it("carry the login's acr, amr and auth_time as given", async () => {
    const authTime = Math.floor(Date.now() / 1000) - 30;
    const claims = decodeJwt(
      await idp.mintUserToken("alice", ["openid", "api.read"], {
        acr: LOA_SECOND_FACTOR,
        amr: ["pwd", "otp"],
        authTime,
      }),
    );
    expect(claims).toMatchObject({
      sub: "alice",
      client_id: DEMO_WEB_CLIENT_ID,
      acr: LOA_SECOND_FACTOR,
      amr: ["pwd", "otp"],
      auth_time: authTime,
    });
    expect(claims.roles).toEqual(["admin", "user"]);
  });
});

describe("the dev IdP's mint endpoint with a certificate", () => {
  const mint = (body: unknown, secret = mintSecret) =>
    fetch(`${idp.issuer}${MINT_USER_TOKEN_PATH}`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });

  it("binds the token to it: cnf x5t#S256 is the certificate's SHA-256 thumbprint (RFC 8705)", async () => {
    const { certPem } = await ensureDemoCertificate(demoDir);
    const res = await mint({ user: "alice", scopes: ["openid", "api.read"], certificate: certPem });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const thumbprint = createHash("sha256").update(new X509Certificate(certPem).raw).digest("base64url");
    expect(decodeJwt(access_token)).toMatchObject({ sub: "alice", cnf: { "x5t#S256": thumbprint } });
  });

  it("answers 400 to what is not a PEM certificate, and 401 without the mint secret", async () => {
    const bad = await mint({
      user: "alice",
      certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_request" });
    const { certPem } = await ensureDemoCertificate(demoDir);
    expect((await mint({ user: "alice", certificate: certPem }, "wrong-secret-0123456789abcdef")).status).toBe(401);
  });

  it("is not asked by `demo token --bound-to-cert` for a demo without an mTLS entry, which exits 1 saying so", async () => {
    const out = await demoToken(["--user", "alice", "--bound-to-cert"]);
    expect(out.code).toBe(1);
    expect(out.token).toBe("");
    expect(out.stderr).toMatch(/no mTLS entry/);
  });
});

describe("introspection (RFC 7662)", () => {
  it("answers active with scope, client and the user's claims for an opaque token", async () => {
    const token = await idp.opaqueToken("alice", ["openid", "api.read"]);
    expect(token.split(".")).toHaveLength(1);
    const result = await introspect(token, idp.cliClient);
    expect(result).toMatchObject({
      active: true,
      sub: "alice",
      client_id: DEMO_WEB_CLIENT_ID,
      aud: idp.audience,
      iss: idp.issuer,
      token_type: "Bearer",
      email: "alice@example.com",
      acr: LOA_PASSWORD,
    });
    expect(String(result.scope).split(" ").sort()).toEqual(["api.read", "openid"]);
    expect(result.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it("answers inactive for an unknown token, and for a client not allowed to introspect", async () => {
    expect(await introspect("not-a-token-the-idp-issued", idp.webClient)).toEqual({ active: false });
    expect(await introspect(await idp.opaqueToken("bob"), idp.batchClient)).toEqual({ active: false });
  });
});

describe("the dev IdP's counters", () => {
  it("count token requests by grant type (failed ones too), introspections, authorizations and logouts", async () => {
    idp.resetCounts();
    await idp.clientCredentialsToken();
    await idp.clientCredentialsToken(undefined, DEMO_BATCH_CLIENT_ID);
    const refused = await fetch(idp.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: "nope",
        client_id: DEMO_WEB_CLIENT_ID,
        client_secret: idp.webClient.secret,
      }),
    });
    expect(refused.status).toBe(400);
    await introspect(await idp.opaqueToken("bob"), idp.cliClient);
    const auth = await fetch(`${idp.authorizationEndpoint}?client_id=unknown&response_type=code`, {
      redirect: "manual",
    });
    await auth.arrayBuffer();
    const logout = await fetch(idp.endSessionEndpoint, { redirect: "manual" });
    await logout.arrayBuffer();
    expect(idp.counts).toEqual({
      token: 3,
      tokenByGrant: { authorization_code: 0, refresh_token: 1, client_credentials: 2 },
      introspection: 1,
      endSession: 1,
      authorization: 1,
      // An end-session request without a signed-in user posts no back-channel logout.
      backchannelLogouts: { sent: 0, failed: 0 },
    });
  });
});
