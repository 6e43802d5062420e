// The embedded development OpenID Provider (oidc-provider) for `portcullis demo` and the e2e tests.
// Loopback only, in-memory state, a plain login page: never a production IdP. It issues RFC 9068
// JWT access tokens for one API audience (resource indicators), rotates refresh tokens, answers
// introspection, counts the calls tests care about, and mints tokens without a browser.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { interactionPolicy, Provider } from "oidc-provider";
import type { OidcClient, OidcContext, OidcTokenLike } from "oidc-provider";
import type { SigningJwk } from "./createSigningJwk.ts";
import { DEMO_ACR_VALUES, DEMO_USERS, findDemoUser, loginFactsFor, meetsAcrValues } from "./demoAccounts.ts";
import type { LoginFacts } from "./demoAccounts.ts";
import { handleDevIdpInteraction } from "./handleDevIdpInteraction.ts";
import { closeServer, listenServer } from "./listenServer.ts";
import { readRequestBody } from "./readRequestBody.ts";
import { renderLogoutPage, renderSignedOutPage } from "./renderLogoutPage.ts";

export { DEMO_USERS, LOA_PASSWORD, LOA_SECOND_FACTOR } from "./demoAccounts.ts";
export type { DemoUser, LoginFacts } from "./demoAccounts.ts";

export const DEMO_API_SCOPES = ["api.read", "api.write"] as const;
/** Machine client (client credentials) with every API scope; `demo token` uses it by default. */
export const DEMO_CLIENT_ID = "demo-cli";
/** A second machine client (client credentials) that may only read. */
export const DEMO_BATCH_CLIENT_ID = "demo-batch";
export const DEMO_BATCH_SCOPES = ["api.read"] as const;
/** The browser client (authorization code + PKCE), Portcullis's client in the demo. */
export const DEMO_WEB_CLIENT_ID = "demo-web";
export const DEMO_AUDIENCE = "portcullis-demo-api";
/** The loopback-only endpoint (`demo token --user`) that mints a user token; needs `mintSecret`. */
export const MINT_USER_TOKEN_PATH = "/demo/user-token";
/** Clients allowed to introspect (RFC 7662): the ones a resource server would use. */
const INTROSPECTING_CLIENTS: ReadonlySet<string> = new Set([DEMO_CLIENT_ID, DEMO_WEB_CLIENT_ID]);

export interface DevIdpOptions {
  /** Private signing JWKs; the first signs. Restart with a new set on the same port to rotate. */
  readonly signingKeys: readonly SigningJwk[];
  /** 0 (default) = ephemeral. */
  readonly port?: number;
  readonly audience?: string;
  /** Secret of the client-credentials client `demo-cli`; random per run when absent. */
  readonly cliClientSecret?: string;
  /** Secret of the client-credentials client `demo-batch`; random per run when absent. */
  readonly batchClientSecret?: string;
  readonly webClientSecret?: string;
  /** Redirect URIs of the browser client `demo-web` (authorization code + PKCE). */
  readonly webRedirectUris?: readonly string[];
  readonly webPostLogoutRedirectUris?: readonly string[];
  /**
   * Where the IdP posts OpenID Connect back-channel logout tokens for `demo-web` when a user's IdP
   * session ends (ID tokens then carry `sid`); absent = no back-channel logout.
   */
  readonly webBackchannelLogoutUri?: string;
  /** Access tokens of every grant (default 600). */
  readonly accessTokenTtlSeconds?: number;
  /** ID tokens (default 3600). */
  readonly idTokenTtlSeconds?: number;
  /** Refresh tokens, each rotation starting anew (default 86400). */
  readonly refreshTokenTtlSeconds?: number;
  /** Format of the API access tokens the grants issue (default jwt; opaque ones need introspection). */
  readonly accessTokenFormat?: "jwt" | "opaque";
  /** When set, POST {MINT_USER_TOKEN_PATH} with `Authorization: Bearer <mintSecret>` mints user tokens. */
  readonly mintSecret?: string;
}

/** Calls counted as they reach the IdP (failed ones too), for tests of caching and single-flight. */
export interface DevIdpCounts {
  /** POSTs to the token endpoint, every grant type. */
  token: number;
  /** The same POSTs by grant_type; "unknown" when the body named none. */
  tokenByGrant: {
    authorization_code: number;
    refresh_token: number;
    client_credentials: number;
    [grantType: string]: number;
  };
  /** POSTs to the introspection endpoint. */
  introspection: number;
  /** Requests to the end_session_endpoint (RP-initiated logout), not its confirmation step. */
  endSession: number;
  /** Requests to the authorization endpoint, not the resumes after a login. */
  authorization: number;
  /** Back-channel logout tokens posted to the web client's back-channel URL: answered 200, or not. */
  backchannelLogouts: { sent: number; failed: number };
}

export interface MachineClient {
  readonly id: string;
  readonly secret: string;
}

export interface DevIdp {
  readonly issuer: string;
  readonly port: number;
  readonly audience: string;
  /** The resource indicator (RFC 8707) that selects the API audience. */
  readonly resource: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly endSessionEndpoint: string;
  readonly cliClient: MachineClient;
  readonly batchClient: MachineClient;
  readonly webClient: MachineClient;
  /** Live counters; resetCounts() sets them to zero. */
  readonly counts: Readonly<DevIdpCounts>;
  resetCounts(): void;
  /**
   * A JWT access token for a demo user as if issued to demo-web. `login` says how the user signed in
   * (default: a password login now, LOA 1); it becomes acr, amr and auth_time.
   */
  mintUserToken(user: string, scopes?: readonly string[], login?: Partial<LoginFacts>): Promise<string>;
  /** The same as an opaque token (for introspection), audience = the API. */
  opaqueToken(user: string, scopes?: readonly string[], login?: Partial<LoginFacts>): Promise<string>;
  /** A token from the client-credentials grant over HTTP; default scopes: all the client may have. */
  clientCredentialsToken(scopes?: readonly string[], clientId?: string): Promise<string>;
  close(): Promise<void>;
}

/** The resource indicator must be an absolute URI; a bare audience name becomes a URN. */
export function resourceIndicatorFor(audience: string): string {
  return URL.canParse(audience) ? audience : `urn:portcullis:audience:${audience}`;
}

export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  if (options.signingKeys.length === 0) throw new Error("the dev IdP needs at least one signing key");
  const audience = options.audience ?? DEMO_AUDIENCE;
  const resource = resourceIndicatorFor(audience);
  const ttl = options.accessTokenTtlSeconds ?? 600;
  const cliSecret = options.cliClientSecret ?? randomBytes(24).toString("base64url");
  const batchSecret = options.batchClientSecret ?? randomBytes(24).toString("base64url");
  const webSecret = options.webClientSecret ?? randomBytes(24).toString("base64url");
  const resourceServerInfo = {
    scope: DEMO_API_SCOPES.join(" "),
    audience,
    accessTokenFormat: options.accessTokenFormat ?? "jwt",
    accessTokenTTL: ttl,
    jwt: { sign: { alg: "RS256" } },
  };
  const machineScopes: Readonly<Record<string, readonly string[]>> = {
    [DEMO_CLIENT_ID]: DEMO_API_SCOPES,
    [DEMO_BATCH_CLIENT_ID]: DEMO_BATCH_SCOPES,
  };
  const counts = zeroCounts();
  // How minted tokens' users signed in; tokens from real grants take it from the code or refresh token.
  const mintedLogins = new WeakMap<object, LoginFacts>();

  // Listen first so the issuer carries the real port when port 0 was asked for.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler === undefined) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  await listenServer(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const policy = interactionPolicy.base();
  // oidc-provider treats acr_values as voluntary; a step-up must not be answered with the session's
  // weaker login, so acr_values above the session's level ask for a new login.
  policy
    .get("login")
    ?.checks.push(
      new interactionPolicy.Check(
        "acr_values_unmet",
        "requested ACR could not be obtained",
        "login_required",
        (ctx) => !meetsAcrValues(ctx.oidc?.acr, ctx.oidc?.params?.acr_values),
      ),
    );

  const provider = new Provider(issuer, {
    jwks: { keys: options.signingKeys },
    clients: [
      {
        client_id: DEMO_CLIENT_ID,
        client_secret: cliSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        scope: ["openid", "profile", "email", ...DEMO_API_SCOPES].join(" "),
      },
      {
        client_id: DEMO_BATCH_CLIENT_ID,
        client_secret: batchSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        scope: DEMO_BATCH_SCOPES.join(" "),
      },
      {
        client_id: DEMO_WEB_CLIENT_ID,
        client_secret: webSecret,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: [...(options.webRedirectUris ?? ["https://localhost:8443/oauth2/callback"])],
        post_logout_redirect_uris: [...(options.webPostLogoutRedirectUris ?? ["https://localhost:8443/"])],
        ...(options.webBackchannelLogoutUri === undefined
          ? {}
          : { backchannel_logout_uri: options.webBackchannelLogoutUri, backchannel_logout_session_required: true }),
        scope: ["openid", "profile", "email", "offline_access", ...DEMO_API_SCOPES].join(" "),
      },
    ],
    // oidc-provider refuses outgoing calls to loopback and private addresses (SSRF protection); this
    // IdP runs beside Portcullis on loopback and posts its back-channel logout tokens there, so a
    // loopback target (and only that) goes out without the protecting dispatcher.
    fetch: (url: URL | string, init: RequestInit & { dispatcher?: unknown }) => {
      const host = new URL(url).hostname;
      if (host === "127.0.0.1" || host === "localhost" || host === "[::1]") {
        const { dispatcher: _protected, ...rest } = init;
        return globalThis.fetch(url, rest);
      }
      return globalThis.fetch(url, init);
    },
    scopes: ["openid", "offline_access", "profile", "email", ...DEMO_API_SCOPES],
    acrValues: [...DEMO_ACR_VALUES],
    // acr, amr and auth_time ride with `openid` so that every ID token says how the user logged in.
    claims: {
      openid: ["sub", "acr", "amr", "auth_time"],
      email: ["email", "email_verified"],
      profile: ["name", "roles"],
      sid: null,
      iss: null,
    },
    findAccount: (_ctx: unknown, id: string) => {
      const user = findDemoUser(id);
      if (user === undefined) return undefined;
      return {
        accountId: id,
        claims: () => ({ sub: id, email: user.email, email_verified: true, name: user.name, roles: [...user.roles] }),
      };
    },
    // User access tokens carry email, roles and the login's strength so that Portcullis can map
    // them to headers and check step-up; machine tokens (no account) carry nothing of a person.
    extraTokenClaims: (ctx: OidcContext | undefined, token: OidcTokenLike) => {
      const user = token.accountId === undefined ? undefined : findDemoUser(token.accountId);
      if (user === undefined) return undefined;
      const login = mintedLogins.get(token) ?? loginOfGrant(ctx);
      return {
        email: user.email,
        roles: [...user.roles],
        ...(login === undefined ? {} : { acr: login.acr, amr: [...login.amr], auth_time: login.authTime }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: OidcClient) => INTROSPECTING_CLIENTS.has(client.clientId),
      },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: OidcContext, form: string) => {
          const hint = ctx.oidc?.entities.IdTokenHint as { payload?: { sub?: unknown } } | undefined;
          const signedIn = ctx.oidc?.session?.accountId;
          const page = renderLogoutPage(form, signedIn !== undefined && hint?.payload?.sub === signedIn);
          ctx.set("content-security-policy", page.csp);
          ctx.type = "html";
          ctx.body = page.html;
        },
        postLogoutSuccessSource: (ctx: OidcContext) => {
          const page = renderSignedOutPage();
          ctx.set("content-security-policy", page.csp);
          ctx.type = "html";
          ctx.body = page.html;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => resourceServerInfo,
      },
    },
    interactions: { policy, url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // The demo's first-party browser client needs no consent screen.
    loadExistingGrant: async (ctx: OidcContext) => {
      const oidc = ctx.oidc;
      if (oidc?.client === undefined) return undefined;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(oidc.client.clientId);
      if (grantId) return oidc.provider.Grant.find(grantId);
      if (oidc.client.clientId !== DEMO_WEB_CLIENT_ID || !oidc.session?.accountId) return undefined;
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope("openid profile email offline_access");
      grant.addResourceScope(resource, DEMO_API_SCOPES.join(" "));
      await grant.save();
      return grant;
    },
    // The browser client always gets a refresh token (with or without offline_access, no consent
    // prompt needed), and every refresh rotates it: a refresh token works exactly once.
    issueRefreshToken: (_ctx: unknown, client: OidcClient, code: OidcTokenLike) =>
      client.grantTypeAllowed("refresh_token") &&
      (client.clientId === DEMO_WEB_CLIENT_ID || code.scopes?.has("offline_access") === true),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      AuthorizationCode: 60,
      IdToken: options.idTokenTtlSeconds ?? 3600,
      RefreshToken: options.refreshTokenTtlSeconds ?? 86_400,
      Interaction: 3600,
      Session: 86_400,
      Grant: 86_400,
    },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    pkce: { required: () => true },
    renderError: (ctx: OidcContext, out: { error: string; error_description?: string }) => {
      ctx.type = "application/json";
      ctx.body = JSON.stringify({ error: out.error, error_description: out.error_description });
    },
  });
  // Counted after the route ran, so the token endpoint's parsed grant_type is known; before the
  // response is written, so a test that got its answer sees the count.
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      countRequest(counts, ctx);
    }
  });
  provider.on("backchannel.success", () => void (counts.backchannelLogouts.sent += 1));
  provider.on("backchannel.error", () => void (counts.backchannelLogouts.failed += 1));
  const providerHandler = provider.callback();
  const client = async (id: string) => {
    const found = await provider.Client.find(id);
    if (found === undefined) throw new Error(`dev IdP client ${id} missing`);
    return found;
  };

  async function userAccessToken(
    format: "jwt" | "opaque",
    userName: string,
    scopes: readonly string[],
    login: Partial<LoginFacts>,
  ): Promise<string> {
    const user = findDemoUser(userName);
    if (user === undefined)
      throw new Error(`unknown demo user ${JSON.stringify(userName)} (known: ${Object.keys(DEMO_USERS).join(", ")})`);
    const token = new provider.AccessToken({
      accountId: user.sub,
      client: await client(DEMO_WEB_CLIENT_ID),
      scope: scopes.join(" "),
      gty: "authorization_code",
      resourceServer: new provider.ResourceServer(resource, { ...resourceServerInfo, accessTokenFormat: format }),
    });
    mintedLogins.set(token, { ...loginFactsFor(false), ...login });
    return token.save();
  }

  const defaultUserScopes = ["openid", ...DEMO_API_SCOPES];

  handler = (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === MINT_USER_TOKEN_PATH) {
      void serveMint(req, res, options.mintSecret, (user, scopes) =>
        userAccessToken("jwt", user, scopes ?? defaultUserScopes, {}),
      );
      return;
    }
    if (path.startsWith("/interaction/")) {
      void handleDevIdpInteraction(provider, req, res, path);
      return;
    }
    providerHandler(req, res);
  };

  return {
    issuer,
    port,
    audience,
    resource,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    endSessionEndpoint: `${issuer}/session/end`,
    cliClient: { id: DEMO_CLIENT_ID, secret: cliSecret },
    batchClient: { id: DEMO_BATCH_CLIENT_ID, secret: batchSecret },
    webClient: { id: DEMO_WEB_CLIENT_ID, secret: webSecret },
    counts,
    resetCounts: () => Object.assign(counts, zeroCounts()),
    mintUserToken: (user, scopes = defaultUserScopes, login = {}) => userAccessToken("jwt", user, scopes, login),
    opaqueToken: (user, scopes = defaultUserScopes, login = {}) => userAccessToken("opaque", user, scopes, login),
    clientCredentialsToken: (scopes, clientId = DEMO_CLIENT_ID) => {
      const secrets: Record<string, string> = { [DEMO_CLIENT_ID]: cliSecret, [DEMO_BATCH_CLIENT_ID]: batchSecret };
      const secret = Object.hasOwn(secrets, clientId) ? secrets[clientId] : undefined;
      if (secret === undefined)
        return Promise.reject(new Error(`${JSON.stringify(clientId)} is not a machine client of the dev IdP`));
      return fetchClientCredentialsToken({
        tokenEndpoint: `${issuer}/token`,
        clientId,
        clientSecret: secret,
        scopes: scopes ?? machineScopes[clientId] ?? [],
        resource,
      });
    },
    close: () => closeServer(server),
  };
}

function zeroCounts(): DevIdpCounts {
  return {
    token: 0,
    tokenByGrant: { authorization_code: 0, refresh_token: 0, client_credentials: 0 },
    introspection: 0,
    endSession: 0,
    authorization: 0,
    backchannelLogouts: { sent: 0, failed: 0 },
  };
}

function countRequest(counts: DevIdpCounts, ctx: OidcContext): void {
  if (ctx.path === "/auth") counts.authorization++;
  else if (ctx.path === "/session/end") counts.endSession++;
  else if (ctx.path === "/token/introspection" && ctx.method === "POST") counts.introspection++;
  else if (ctx.path === "/token" && ctx.method === "POST") {
    counts.token++;
    const grantType = ctx.oidc?.params?.grant_type;
    const key = typeof grantType === "string" && /^[\w:.-]{1,100}$/.test(grantType) ? grantType : "unknown";
    counts.tokenByGrant[key] = (counts.tokenByGrant[key] ?? 0) + 1;
  }
}

/** The login behind a code exchange or a refresh: the code or refresh token carries it. */
function loginOfGrant(ctx: OidcContext | undefined): LoginFacts | undefined {
  const entities = ctx?.oidc?.entities;
  const source = (entities?.AuthorizationCode ?? entities?.RefreshToken) as OidcTokenLike | undefined;
  if (source?.acr === undefined) return undefined;
  return { acr: source.acr, amr: source.amr ?? [], authTime: source.authTime ?? 0 };
}

export interface ClientCredentialsRequest {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly resource: string;
}

/** The client-credentials grant over HTTP (used by `demo token` and the tests), 5 s timeout. */
export async function fetchClientCredentialsToken(request: ClientCredentialsRequest): Promise<string> {
  const body = new URLSearchParams({ grant_type: "client_credentials", resource: request.resource });
  if (request.scopes.length > 0) body.set("scope", request.scopes.join(" "));
  const basic = Buffer.from(
    `${encodeURIComponent(request.clientId)}:${encodeURIComponent(request.clientSecret)}`,
  ).toString("base64");
  const response = await fetch(request.tokenEndpoint, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body,
    signal: AbortSignal.timeout(5000),
  });
  const json = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || typeof json.access_token !== "string") {
    throw new Error(
      `token endpoint answered ${response.status}: ${json.error ?? "no access_token"}${json.error_description ? ` (${json.error_description})` : ""}`,
    );
  }
  return json.access_token;
}

async function serveMint(
  req: IncomingMessage,
  res: ServerResponse,
  mintSecret: string | undefined,
  mint: (user: string, scopes?: readonly string[]) => Promise<string>,
): Promise<void> {
  const send = (status: number, body: unknown) => {
    res
      .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
      .end(JSON.stringify(body));
  };
  const presented = Buffer.from(req.headers.authorization ?? "");
  const expected = Buffer.from(`Bearer ${mintSecret ?? ""}`);
  if (mintSecret === undefined || req.method !== "POST" || !isLoopback(req.socket.remoteAddress)) {
    send(404, { error: "not_found" });
    return;
  }
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    send(401, { error: "unauthorized" });
    return;
  }
  try {
    const raw = await readRequestBody(req, 4096);
    const { user, scopes } = JSON.parse(raw) as { user?: unknown; scopes?: unknown };
    if (typeof user !== "string") throw new Error("body needs a string `user`");
    const scopeList =
      Array.isArray(scopes) && scopes.every((s) => typeof s === "string") ? (scopes as string[]) : undefined;
    send(200, { access_token: await mint(user, scopeList) });
  } catch (error) {
    send(400, { error: "invalid_request", error_description: (error as Error).message });
  }
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}
