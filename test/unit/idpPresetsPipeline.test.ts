// Each hosted-IdP preset through the real Check pipeline (buildCheckPipeline: provider registry,
// login client, browser sessions, gate), against fake IdPs on loopback that serve recorded-shape
// discovery documents and tokens with each IdP's real claim shapes (test/harness/startHostedIdps).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { JWTPayload } from "jose";
import { buildCheckPipeline, type CheckPipeline } from "../../src/app/buildCheckPipeline.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { completeLogin } from "../../src/login/completeLogin.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { signOut } from "../../src/login/signOut.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";
import { ENTRA_TENANT_ID, startHostedIdps, type HostedIdp, type HostedIdps } from "../harness/startHostedIdps.ts";
import { checkRequest } from "../harness/checkRequest.ts";
import { headerOf } from "../harness/checkOutcome.ts";

const APP = "https://app.example.com";
const REDIRECT_URI = `${APP}/oauth2/callback`;
const CLIENT_SECRET = "a-client-secret";
const OTHER_TENANT_ID = "3c1f5b7a-2d4e-4f60-9a8b-7c6d5e4f3a2b";

let idps: HostedIdps;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  idps = await startHostedIdps();
});
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});
afterAll(async () => {
  await idps.close();
});

const now = () => Math.floor(Date.now() / 1000);
const times = () => ({ iat: now(), exp: now() + 600 });

const ROUTES = [
  { name: "admin", match: { path: "/admin" }, auth: "required", require: { roles: ["admin"] } },
  { name: "ops", match: { path: "/ops" }, auth: "required", require: { groups: ["ops"] } },
  { name: "app", match: { path: "/" }, auth: "required" },
];

/** A pipeline with one provider `idp`, loaded from the fake IdP; closed after the test. */
async function pipelineFor(
  provider: Record<string, unknown>,
  routes: readonly unknown[] = ROUTES,
  clock?: ManualClock,
): Promise<CheckPipeline> {
  const result = parseConfig({
    providers: { idp: { allowInsecureHttp: true, jwksTimeoutMs: 2000, ...provider } },
    routes,
    session: { keys: ["k".repeat(40)] },
  });
  if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
  const pipeline = buildCheckPipeline(result.config, createLogger("silent"), clock === undefined ? {} : { clock });
  cleanups.push(() => pipeline.registry.close());
  await pipeline.registry.start();
  expect(pipeline.registry.status()).toEqual([{ provider: "idp", ready: true }]);
  return pipeline;
}

const asBearer = (token: string) => ({ authorization: `Bearer ${token}` });

function expectDenied(decision: Decision, status: number, code: string): void {
  expect(decision.kind === "deny" ? [decision.status, decision.code, decision.detail] : decision).toEqual([
    status,
    code,
    expect.any(String),
  ]);
}

interface LoggedIn {
  /** The authorization URL the browser was sent to. */
  readonly authorize: URL;
  /** The session's Cookie header. */
  readonly cookie: string;
}

/**
 * A browser login through the gate and the callback: the IdP's token endpoint answers with these
 * tokens, the ID token signed with the authorization request's nonce.
 */
async function logIn(
  pipeline: CheckPipeline,
  idp: HostedIdp,
  idTokenClaims: JWTPayload,
  accessToken: string,
  callbackExtra: Record<string, string> = {},
  expiresIn = 3600,
): Promise<LoggedIn> {
  const start = await pipeline.gate.decide(checkRequest("/home", { accept: "text/html" }));
  expect(start.kind === "deny" && start.status).toBe(302);
  const authorize = new URL(headerOf(start, "location") as string);
  const txnCookie = (start.kind === "deny" ? start.headers : [])
    .filter(([n]) => n === "set-cookie")
    .map(([, v]) => v.split(";")[0])
    .join("; ");
  const nonce = authorize.searchParams.get("nonce") as string;
  idp.tokenResponse = async () => ({
    token_type: "Bearer",
    expires_in: expiresIn,
    access_token: accessToken,
    refresh_token: "refresh-token-1",
    id_token: await idp.sign({ ...idTokenClaims, nonce, ...times() }),
  });
  cleanups.push(() => void (idp.tokenResponse = null));
  const browserLogin = pipeline.login!;
  const query = new URLSearchParams({
    code: "code-1",
    state: authorize.searchParams.get("state") as string,
    ...callbackExtra,
  });
  const done = await completeLogin(browserLogin, query, parseSessionCookies(txnCookie));
  if (done.kind !== "redirect") throw new Error(`login failed: ${done.reason}: ${done.detail}`);
  const cookie = done.setCookies
    .filter((c) => /^__Host-portcullis(\.\d+)?=/.test(c) && !c.includes("Max-Age=0"))
    .map((c) => c.split(";")[0])
    .join("; ");
  return { authorize, cookie };
}

async function signOutLocation(pipeline: CheckPipeline, cookie: string): Promise<URL> {
  const outcome = await signOut(pipeline.login!, parseSessionCookies(cookie), null);
  if (outcome.kind !== "redirect") throw new Error(outcome.reason);
  return new URL(outcome.location);
}

const login = { clientId: "portcullis", clientSecret: CLIENT_SECRET, redirectUri: REDIRECT_URI };

describe("preset: keycloak", () => {
  const idp = () => idps.get("keycloak");
  const provider = () => ({ preset: "keycloak", issuer: idp().issuer, audiences: ["orders-api"], ...login });
  const accessToken = (claims: JWTPayload = {}) =>
    idp().sign({
      ...times(),
      auth_time: now() - 5,
      jti: "onrtac:7b1f0c8e-2f4e-4d7e-9a5f-0f8d3c2b1a00",
      iss: idp().issuer,
      aud: ["orders-api", "account"],
      sub: "f3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
      typ: "Bearer",
      azp: "portcullis",
      sid: "0c4f9a2e-6b1d-4e8f-a3c5-7d9e1f2a4b6c",
      acr: "1",
      "allowed-origins": [APP],
      realm_access: { roles: ["offline_access", "default-roles-corp", "uma_authorization", "admin"] },
      resource_access: {
        portcullis: { roles: ["reports-viewer"] },
        account: { roles: ["manage-account", "view-profile"] },
      },
      scope: "openid profile email",
      email_verified: true,
      name: "Alice Admin",
      preferred_username: "alice",
      email: "alice@example.com",
      groups: ["/engineering", "ops"],
      ...claims,
    });

  it("sends realm roles and the login client's roles upstream, never another client's", async () => {
    const pipeline = await pipelineFor(provider());
    const decision = await pipeline.gate.decide(checkRequest("/admin/x", asBearer(await accessToken())));
    expect(decision.kind).toBe("allow");
    expect(headerOf(decision, "x-user-roles")).toBe(
      "offline_access,default-roles-corp,uma_authorization,admin,reports-viewer",
    );
    expect(headerOf(decision, "x-user-sub")).toBe("f3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d");
  });

  it("admits a route that requires a client role only with that role", async () => {
    const routes = [
      { name: "reports", match: { path: "/reports" }, auth: "required", require: { roles: ["reports-viewer"] } },
    ];
    const pipeline = await pipelineFor(provider(), routes);
    expect((await pipeline.gate.decide(checkRequest("/reports", asBearer(await accessToken())))).kind).toBe("allow");
    const withoutClientRole = await accessToken({ resource_access: { account: { roles: ["manage-account"] } } });
    expectDenied(
      await pipeline.gate.decide(checkRequest("/reports", asBearer(withoutClientRole))),
      403,
      "requirement_failed",
    );
  });

  it("checks require.groups against the group-membership claim", async () => {
    const pipeline = await pipelineFor(provider());
    expect((await pipeline.gate.decide(checkRequest("/ops", asBearer(await accessToken())))).kind).toBe("allow");
    expectDenied(
      await pipeline.gate.decide(checkRequest("/ops", asBearer(await accessToken({ groups: ["/engineering"] })))),
      403,
      "requirement_failed",
    );
  });

  it("refuses a Keycloak ID token presented as a bearer token, even when its audience is accepted", async () => {
    const pipeline = await pipelineFor({ ...provider(), audiences: ["orders-api", "portcullis"] });
    const idToken = await idp().sign({
      ...times(),
      iss: idp().issuer,
      aud: "portcullis",
      sub: "f3a1c2d4",
      typ: "ID",
      azp: "portcullis",
      email: "alice@example.com",
    });
    expectDenied(await pipeline.gate.decide(checkRequest("/", asBearer(idToken))), 401, "claims_invalid");
  });

  it("logs a browser in with the iss response parameter Keycloak advertises, takes roles from the access token, and logs out at its end_session_endpoint", async () => {
    const pipeline = await pipelineFor(provider());
    const { authorize, cookie } = await logIn(
      pipeline,
      idp(),
      {
        iss: idp().issuer,
        aud: "portcullis",
        azp: "portcullis",
        sub: "f3a1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        typ: "ID",
        email: "alice@example.com",
        auth_time: now(),
      },
      await accessToken(),
      { iss: idp().issuer, session_state: "0c4f9a2e" },
    );
    expect(`${authorize.origin}${authorize.pathname}`).toBe(idp().metadata["authorization_endpoint"]);
    const decision = await pipeline.gate.decide(checkRequest("/admin/x", { cookie }));
    expect(decision.kind).toBe("allow");
    expect(headerOf(decision, "x-user-roles")).toContain("reports-viewer");
    const logout = await signOutLocation(pipeline, cookie);
    expect(`${logout.origin}${logout.pathname}`).toBe(idp().metadata["end_session_endpoint"]);
    expect(logout.searchParams.get("post_logout_redirect_uri")).toBe(`${APP}/`);
    expect(logout.searchParams.get("client_id")).toBe("portcullis");
    expect(logout.searchParams.get("id_token_hint")).toMatch(/^ey/);
  });
});

describe("preset: cognito", () => {
  const idp = () => idps.get("cognito");
  const APP_CLIENT = "7k3example1clientid2abcde";
  const provider = () => ({
    preset: "cognito",
    issuer: idp().issuer,
    audiences: [APP_CLIENT],
    ...login,
    clientId: APP_CLIENT,
  });
  const base = () => ({
    sub: "a1b2c3d4-e5f6-7081-92a3-b4c5d6e7f809",
    "cognito:groups": ["admin", "ops"],
    iss: idp().issuer,
    origin_jti: "5f1e9c2a",
    event_id: "0b6d3f7e",
    auth_time: now(),
    jti: "9e8d7c6b",
    ...times(),
  });
  const accessToken = (claims: JWTPayload = {}) =>
    idp().sign({
      ...base(),
      version: 2,
      client_id: APP_CLIENT,
      token_use: "access",
      scope: "openid profile email",
      username: "alice",
      ...claims,
    });
  const idTokenClaims = (): JWTPayload => ({
    ...base(),
    email_verified: true,
    "cognito:username": "alice",
    aud: APP_CLIENT,
    token_use: "id",
    email: "alice@example.com",
  });

  it("accepts an access token without aud by its app client id, with cognito:groups as roles and groups", async () => {
    const pipeline = await pipelineFor(provider());
    const token = await accessToken();
    const admin = await pipeline.gate.decide(checkRequest("/admin", asBearer(token)));
    expect(admin.kind).toBe("allow");
    expect(headerOf(admin, "x-user-roles")).toBe("admin,ops");
    expect(headerOf(admin, "x-client-id")).toBe(APP_CLIENT);
    expect((await pipeline.gate.decide(checkRequest("/ops", asBearer(token)))).kind).toBe("allow");
  });

  it("refuses an access token of another app client", async () => {
    const pipeline = await pipelineFor(provider());
    expectDenied(
      await pipeline.gate.decide(checkRequest("/", asBearer(await accessToken({ client_id: "another-app-client" })))),
      401,
      "audience_mismatch",
    );
  });

  it("refuses a Cognito ID token presented as a bearer token", async () => {
    const pipeline = await pipelineFor(provider());
    expectDenied(
      await pipeline.gate.decide(checkRequest("/", asBearer(await idp().sign(idTokenClaims())))),
      401,
      "claims_invalid",
    );
  });

  it("signs out at the hosted UI's /logout with client_id and logout_uri, on the domain of the authorization endpoint", async () => {
    const pipeline = await pipelineFor(provider());
    const { cookie } = await logIn(pipeline, idp(), idTokenClaims(), await accessToken());
    expect(headerOf(await pipeline.gate.decide(checkRequest("/admin", { cookie })), "x-user-roles")).toBe("admin,ops");
    const logout = await signOutLocation(pipeline, cookie);
    expect(logout.origin).toBe(new URL(idp().metadata["authorization_endpoint"] as string).origin);
    expect(logout.origin).not.toBe(new URL(idp().issuer).origin);
    expect(logout.pathname).toBe("/logout");
    expect([...logout.searchParams]).toEqual([
      ["client_id", APP_CLIENT],
      ["logout_uri", `${APP}/`],
    ]);
  });
});

describe("preset: auth0", () => {
  const idp = () => idps.get("auth0");
  const API = "https://api.example.com";
  const provider = () => ({
    preset: "auth0",
    claimNamespace: "https://example.com",
    issuer: idp().issuer,
    audiences: [API],
    ...login,
  });
  const accessToken = (claims: JWTPayload = {}) =>
    idp().sign({
      "https://example.com/roles": ["admin"],
      "https://example.com/groups": ["ops"],
      iss: idp().issuer,
      sub: "auth0|64f1c2d3e4f5a6b7c8d9e0f1",
      aud: [API, `${idp().issuer}userinfo`],
      ...times(),
      scope: "openid profile email offline_access",
      azp: "portcullis",
      permissions: ["read:orders"],
      ...claims,
    });
  const idTokenClaims = (): JWTPayload => ({
    "https://example.com/roles": ["admin"],
    nickname: "alice",
    name: "alice@example.com",
    email: "alice@example.com",
    email_verified: true,
    iss: idp().issuer,
    aud: "portcullis",
    sub: "auth0|64f1c2d3e4f5a6b7c8d9e0f1",
    sid: "Xk2pQ9",
  });

  it("reads namespaced roles and groups for the roles header and require.groups", async () => {
    const pipeline = await pipelineFor(provider());
    const token = await accessToken();
    const decision = await pipeline.gate.decide(checkRequest("/admin", asBearer(token)));
    expect(headerOf(decision, "x-user-roles")).toBe("admin");
    expect((await pipeline.gate.decide(checkRequest("/ops", asBearer(token)))).kind).toBe("allow");
    expectDenied(
      await pipeline.gate.decide(
        checkRequest("/admin", asBearer(await accessToken({ "https://example.com/roles": ["viewer"] }))),
      ),
      403,
      "requirement_failed",
    );
  });

  it("asks for the API audience and offline_access at login, so the session's access token is a JWT with the roles", async () => {
    const pipeline = await pipelineFor(provider());
    const { authorize, cookie } = await logIn(
      pipeline,
      idp(),
      { ...idTokenClaims(), "https://example.com/roles": [] },
      await accessToken(),
    );
    expect(authorize.searchParams.get("audience")).toBe(API);
    expect(authorize.searchParams.get("scope")).toBe("openid profile email offline_access");
    expect(headerOf(await pipeline.gate.decide(checkRequest("/admin", { cookie })), "x-user-roles")).toBe("admin");
  });

  it("signs out at /v2/logout with client_id and returnTo when the tenant has no OIDC logout", async () => {
    const pipeline = await pipelineFor(provider());
    const { cookie } = await logIn(pipeline, idp(), idTokenClaims(), await accessToken());
    const logout = await signOutLocation(pipeline, cookie);
    expect(`${logout.origin}${logout.pathname}`).toBe(`${idp().issuer}v2/logout`);
    expect([...logout.searchParams]).toEqual([
      ["client_id", "portcullis"],
      ["returnTo", `${APP}/`],
    ]);
  });

  it("signs out through OIDC RP-initiated logout when the tenant advertises an end_session_endpoint", async () => {
    idp().extraMetadata = { end_session_endpoint: `${idp().issuer}oidc/logout` };
    cleanups.push(() => void (idp().extraMetadata = {}));
    const pipeline = await pipelineFor(provider());
    const { cookie } = await logIn(pipeline, idp(), idTokenClaims(), await accessToken());
    const logout = await signOutLocation(pipeline, cookie);
    expect(`${logout.origin}${logout.pathname}`).toBe(`${idp().issuer}oidc/logout`);
    expect(logout.searchParams.get("post_logout_redirect_uri")).toBe(`${APP}/`);
    // Auth0 takes client_id + logout_hint (the session's sid): the ID token stays out of the URL.
    expect(logout.searchParams.get("id_token_hint")).toBeNull();
    expect(logout.searchParams.get("client_id")).toBe("portcullis");
    expect(logout.searchParams.get("logout_hint")).toBe("Xk2pQ9");
  });
});

describe("preset: okta", () => {
  const idp = () => idps.get("okta");
  const provider = () => ({ preset: "okta", issuer: idp().issuer, audiences: ["api://default"], ...login });
  const accessToken = (groups: string[]) =>
    idp().sign({
      ver: 1,
      jti: "AT.kq8c0F3bXp",
      iss: idp().issuer,
      aud: "api://default",
      ...times(),
      cid: "0oa1b2c3d4e5f6g7h8i9",
      uid: "00u1a2b3c4d5e6f7g8h9",
      scp: ["openid", "profile", "email"],
      auth_time: now(),
      sub: "alice@example.com",
      groups,
    });

  it("takes the authorization server's groups claim as roles and groups", async () => {
    const pipeline = await pipelineFor(provider());
    const decision = await pipeline.gate.decide(
      checkRequest("/admin", asBearer(await accessToken(["Everyone", "admin", "ops"]))),
    );
    expect(headerOf(decision, "x-user-roles")).toBe("Everyone,admin,ops");
    expect((await pipeline.gate.decide(checkRequest("/ops", asBearer(await accessToken(["ops"]))))).kind).toBe("allow");
    expectDenied(
      await pipeline.gate.decide(checkRequest("/admin", asBearer(await accessToken(["Everyone"])))),
      403,
      "requirement_failed",
    );
  });

  it("asks for offline_access at login, for a refresh token", async () => {
    const pipeline = await pipelineFor(provider());
    const start = await pipeline.gate.decide(checkRequest("/", { accept: "text/html" }));
    expect(new URL(headerOf(start, "location") as string).searchParams.get("scope")).toBe(
      "openid profile email offline_access",
    );
  });
});

describe("preset: entra, one tenant", () => {
  const idp = () => idps.get("entra-tenant");
  const API_APP_ID = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
  const provider = () => ({ preset: "entra", issuer: idp().issuer, audiences: ["api://orders", API_APP_ID], ...login });
  const v2Token = (claims: JWTPayload = {}) =>
    idp().sign({
      aud: API_APP_ID,
      iss: idp().issuer,
      ...times(),
      nbf: now() - 5,
      aio: "AWQAm/8Y",
      azp: "portcullis",
      azpacr: "1",
      name: "Alice Admin",
      oid: "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
      preferred_username: "alice@contoso.example",
      rh: "0.AXkA",
      roles: ["admin"],
      groups: ["ops", "5b8d0c1e-2f3a-4b5c-9d6e-7f8091a2b3c4"],
      scp: "access_as_user",
      sub: "Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE",
      tid: ENTRA_TENANT_ID,
      uti: "q1w2e3r4",
      ver: "2.0",
      ...claims,
    });
  const v1Token = (tenant: string) =>
    idp().sign({
      aud: "api://orders",
      iss: `https://sts.windows.net/${tenant}/`,
      ...times(),
      nbf: now() - 5,
      acr: "1",
      aio: "E2ZgYJ",
      amr: ["pwd", "mfa"],
      appid: "portcullis",
      appidacr: "1",
      family_name: "Admin",
      given_name: "Alice",
      ipaddr: "203.0.113.7",
      name: "Alice Admin",
      oid: "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
      rh: "0.AXkA",
      roles: ["admin"],
      scp: "access_as_user",
      sub: "Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE",
      tid: tenant,
      unique_name: "alice@contoso.example",
      upn: "alice@contoso.example",
      uti: "q1w2e3r4",
      ver: "1.0",
    });

  it("takes app roles from roles and group ids from groups in a v2 access token", async () => {
    const pipeline = await pipelineFor(provider());
    const token = await v2Token();
    expect(headerOf(await pipeline.gate.decide(checkRequest("/admin", asBearer(token))), "x-user-roles")).toBe("admin");
    expect((await pipeline.gate.decide(checkRequest("/ops", asBearer(token)))).kind).toBe("allow");
  });

  it("accepts a v1 access token of the same tenant, issued by sts.windows.net for an api:// audience", async () => {
    const pipeline = await pipelineFor(provider());
    const decision = await pipeline.gate.decide(checkRequest("/admin", asBearer(await v1Token(ENTRA_TENANT_ID))));
    expect(decision.kind).toBe("allow");
    expect(headerOf(decision, "x-user-roles")).toBe("admin");
  });

  it("refuses a v1 token of another tenant", async () => {
    const pipeline = await pipelineFor(provider());
    expectDenied(
      await pipeline.gate.decide(checkRequest("/", asBearer(await v1Token(OTHER_TENANT_ID)))),
      401,
      "issuer_mismatch",
    );
  });
});

describe("preset: entra, multi-tenant (organizations)", () => {
  const idp = () => idps.get("entra-organizations");
  const root = () => idp().issuer.replace(/\/organizations\/v2\.0$/, "");
  const provider = (extra: Record<string, unknown> = {}) => ({
    preset: "entra",
    issuer: idp().issuer,
    audiences: ["api://orders"],
    allowedTenants: [ENTRA_TENANT_ID],
    ...login,
    ...extra,
  });
  const token = (issuerTenant: string, tid: string) =>
    idp().sign({
      aud: "api://orders",
      iss: `${root()}/${issuerTenant}/v2.0`,
      ...times(),
      azp: "portcullis",
      roles: ["admin"],
      sub: `user-of-${tid}`,
      tid,
      ver: "2.0",
    });
  const idTokenClaims = (tenant: string): JWTPayload => ({
    aud: "portcullis",
    iss: `${root()}/${tenant}/v2.0`,
    sub: `user-of-${tenant}`,
    tid: tenant,
    preferred_username: "alice@contoso.example",
    ver: "2.0",
  });

  it("loads the organizations endpoint, whose discovery names the {tenantid} template", async () => {
    expect(idp().metadata["issuer"]).toBe(`${root()}/{tenantid}/v2.0`);
    await pipelineFor(provider());
  });

  it("accepts a token of an allowed tenant whose iss is the template filled with its own tid", async () => {
    const pipeline = await pipelineFor(provider());
    const decision = await pipeline.gate.decide(
      checkRequest("/admin", asBearer(await token(ENTRA_TENANT_ID, ENTRA_TENANT_ID))),
    );
    expect(decision.kind).toBe("allow");
    expect(headerOf(decision, "x-user-sub")).toBe(`user-of-${ENTRA_TENANT_ID}`);
  });

  it("refuses a token of a tenant that is not in allowedTenants", async () => {
    const pipeline = await pipelineFor(provider());
    const decision = await pipeline.gate.decide(
      checkRequest("/", asBearer(await token(OTHER_TENANT_ID, OTHER_TENANT_ID))),
    );
    expectDenied(decision, 401, "issuer_mismatch");
    expect(decision.kind === "deny" && decision.detail).toContain("not in allowedTenants");
  });

  it("refuses a token whose iss names one tenant and whose tid names another", async () => {
    const pipeline = await pipelineFor(provider({ allowedTenants: [ENTRA_TENANT_ID, OTHER_TENANT_ID] }));
    expectDenied(
      await pipeline.gate.decide(checkRequest("/", asBearer(await token(ENTRA_TENANT_ID, OTHER_TENANT_ID)))),
      401,
      "issuer_mismatch",
    );
  });

  it("accepts any tenant when allowAnyTenant is set", async () => {
    const pipeline = await pipelineFor(provider({ allowedTenants: [], allowAnyTenant: true }));
    expect(
      (await pipeline.gate.decide(checkRequest("/", asBearer(await token(OTHER_TENANT_ID, OTHER_TENANT_ID))))).kind,
    ).toBe("allow");
  });

  it("completes a browser login for an allowed tenant and refuses one from another tenant", async () => {
    const pipeline = await pipelineFor(provider());
    const { authorize, cookie } = await logIn(pipeline, idp(), idTokenClaims(ENTRA_TENANT_ID), "opaque-graph-token");
    expect(authorize.pathname).toBe("/entra/organizations/oauth2/v2.0/authorize");
    expect(headerOf(await pipeline.gate.decide(checkRequest("/", { cookie })), "x-user-sub")).toBe(
      `user-of-${ENTRA_TENANT_ID}`,
    );
    await expect(logIn(pipeline, idp(), idTokenClaims(OTHER_TENANT_ID), "opaque-graph-token")).rejects.toThrow(
      /login failed: id_token_invalid: .*not in allowedTenants/,
    );
  });

  it("refreshes a session whose new ID token names the tenant's own issuer", async () => {
    const clock = createManualClock();
    const pipeline = await pipelineFor(provider(), ROUTES, clock);
    const { cookie } = await logIn(pipeline, idp(), idTokenClaims(ENTRA_TENANT_ID), "opaque-graph-token", {}, 2);
    idp().tokenResponse = async (form) =>
      form.get("grant_type") === "refresh_token"
        ? {
            token_type: "Bearer",
            expires_in: 3600,
            access_token: "opaque-graph-token-2",
            refresh_token: "refresh-token-2",
            id_token: await idp().sign({ ...idTokenClaims(ENTRA_TENANT_ID), ...times() }),
          }
        : null;
    clock.advance(1500); // the access token (2 s) is now due for its refresh
    const refreshed = await pipeline.gate.decide(checkRequest("/", { cookie }));
    expect(refreshed.kind).toBe("allow");
    expect(headerOf(refreshed, "x-user-sub")).toBe(`user-of-${ENTRA_TENANT_ID}`);
    expect(
      refreshed.kind === "allow" && (refreshed.responseHeaders ?? []).some(([name]) => name === "set-cookie"),
    ).toBe(true);
    expect(idp().tokenRequests.at(-1)?.get("grant_type")).toBe("refresh_token");
  });
});

describe("preset: google", () => {
  const idp = () => idps.get("google");
  const CLIENT = "1234567890-abcdefghijklmnop.apps.googleusercontent.com";
  const provider = () => ({ preset: "google", issuer: idp().issuer, audiences: [CLIENT], ...login, clientId: CLIENT });
  const idTokenClaims = (claims: JWTPayload = {}): JWTPayload => ({
    iss: idp().issuer,
    azp: CLIENT,
    aud: CLIENT,
    sub: "110248495921238986420",
    hd: "example.com",
    email: "alice@example.com",
    email_verified: true,
    name: "Alice Admin",
    given_name: "Alice",
    family_name: "Admin",
    ...claims,
  });

  it("asks for offline access with a consent prompt at login, to get a refresh token", async () => {
    const pipeline = await pipelineFor(provider());
    const start = await pipeline.gate.decide(checkRequest("/", { accept: "text/html" }));
    const q = new URL(headerOf(start, "location") as string).searchParams;
    expect([q.get("access_type"), q.get("prompt"), q.get("scope")]).toEqual([
      "offline",
      "consent",
      "openid profile email",
    ]);
  });

  it("gives a session the ID token's identity and never takes claims from the access token", async () => {
    const pipeline = await pipelineFor(provider());
    // Were the access token read, this JWT signed by Google's key would make the caller Mallory.
    const lookalike = await idp().sign({ ...idTokenClaims({ sub: "999", email: "mallory@example.com" }), ...times() });
    const { cookie } = await logIn(pipeline, idp(), idTokenClaims(), lookalike);
    const decision = await pipeline.gate.decide(checkRequest("/", { cookie }));
    expect([headerOf(decision, "x-user-sub"), headerOf(decision, "x-user-email")]).toEqual([
      "110248495921238986420",
      "alice@example.com",
    ]);
    const opaque = await logIn(pipeline, idp(), idTokenClaims(), "ya29.a0AfB_byC1x2y3z4-opaque");
    expect(headerOf(await pipeline.gate.decide(checkRequest("/", { cookie: opaque.cookie })), "x-user-email")).toBe(
      "alice@example.com",
    );
  });

  it("accepts a Google ID token as a bearer token for its audience, also with the scheme-less issuer", async () => {
    const pipeline = await pipelineFor(provider());
    const decision = await pipeline.gate.decide(
      checkRequest("/", asBearer(await idp().sign({ ...idTokenClaims(), ...times() }))),
    );
    expect(headerOf(decision, "x-user-email")).toBe("alice@example.com");
    const schemeless = await idp().sign({
      ...idTokenClaims(),
      iss: idp().issuer.replace(/^http:\/\//, ""),
      ...times(),
    });
    expect((await pipeline.gate.decide(checkRequest("/", asBearer(schemeless)))).kind).toBe("allow");
  });

  it("refuses an opaque Google access token as a bearer token, and an ID token for another client", async () => {
    const pipeline = await pipelineFor(provider());
    const opaque = await pipeline.gate.decide(checkRequest("/", asBearer("ya29.a0AfB_byC1x2y3z4-opaque")));
    expectDenied(opaque, 401, "token_malformed");
    expect(opaque.kind === "deny" && opaque.detail).toMatch(
      /provider idp issues opaque access tokens, which cannot be checked: send its ID token instead$/,
    );
    const foreign = await idp().sign({
      ...idTokenClaims({ aud: "another.apps.googleusercontent.com", azp: "another.apps.googleusercontent.com" }),
      ...times(),
    });
    expectDenied(await pipeline.gate.decide(checkRequest("/", asBearer(foreign))), 401, "audience_mismatch");
  });

  it("signs out of Portcullis only, since Google has no end-session endpoint", async () => {
    const pipeline = await pipelineFor(provider());
    const { cookie } = await logIn(pipeline, idp(), idTokenClaims(), "ya29.a0AfB_byC1x2y3z4-opaque");
    expect((await signOutLocation(pipeline, cookie)).href).toBe(`${APP}/`);
  });
});
