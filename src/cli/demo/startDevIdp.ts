// The embedded development OpenID Provider (oidc-provider) for `portcullis demo` and the e2e tests.
// Loopback only, in-memory state, dev login screens: never a production IdP. It issues RFC 9068
// JWT access tokens for one API audience (resource indicators) and can mint user tokens without
// a browser so that demos and tests stay scriptable.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Provider } from "oidc-provider";
import type { SigningJwk } from "./createSigningJwk.ts";
import { closeServer, listenServer } from "./listenServer.ts";

export interface DemoUser {
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  readonly roles: readonly string[];
}

export const DEMO_USERS: Readonly<Record<string, DemoUser>> = {
  alice: { sub: "alice", email: "alice@example.com", name: "Alice Admin", roles: ["admin", "user"] },
  bob: { sub: "bob", email: "bob@example.com", name: "Bob User", roles: ["user"] },
};

export const DEMO_API_SCOPES = ["api:read", "api:write"] as const;
export const DEMO_CLIENT_ID = "demo-cli";
export const DEMO_WEB_CLIENT_ID = "demo-web";
export const DEMO_AUDIENCE = "portcullis-demo-api";
/** The loopback-only endpoint (`demo token --user`) that mints a user token; needs `mintSecret`. */
export const MINT_USER_TOKEN_PATH = "/demo/user-token";

export interface DevIdpOptions {
  /** Private signing JWKs; the first signs. Restart with a new set on the same port to rotate. */
  readonly signingKeys: readonly SigningJwk[];
  /** 0 (default) = ephemeral. */
  readonly port?: number;
  readonly audience?: string;
  /** Secret of the client-credentials client `demo-cli`; random per run when absent. */
  readonly cliClientSecret?: string;
  readonly webClientSecret?: string;
  /** Redirect URIs of the browser client `demo-web` (authorization code + PKCE). */
  readonly webRedirectUris?: readonly string[];
  readonly webPostLogoutRedirectUris?: readonly string[];
  readonly accessTokenTtlSeconds?: number;
  /** When set, POST {MINT_USER_TOKEN_PATH} with `Authorization: Bearer <mintSecret>` mints user tokens. */
  readonly mintSecret?: string;
}

export interface DevIdp {
  readonly issuer: string;
  readonly port: number;
  readonly audience: string;
  /** The resource indicator (RFC 8707) that selects the API audience. */
  readonly resource: string;
  readonly tokenEndpoint: string;
  readonly cliClient: { readonly id: string; readonly secret: string };
  readonly webClient: { readonly id: string; readonly secret: string };
  mintUserToken(user: string, scopes?: readonly string[]): Promise<string>;
  clientCredentialsToken(scopes?: readonly string[]): Promise<string>;
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
  const webSecret = options.webClientSecret ?? randomBytes(24).toString("base64url");
  const resourceServerInfo = {
    scope: DEMO_API_SCOPES.join(" "),
    audience,
    accessTokenFormat: "jwt",
    accessTokenTTL: ttl,
    jwt: { sign: { alg: "RS256" } },
  };

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
        client_id: DEMO_WEB_CLIENT_ID,
        client_secret: webSecret,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: [...(options.webRedirectUris ?? ["https://localhost:8443/oauth2/callback"])],
        post_logout_redirect_uris: [...(options.webPostLogoutRedirectUris ?? ["https://localhost:8443/"])],
        scope: ["openid", "profile", "email", "offline_access", ...DEMO_API_SCOPES].join(" "),
      },
    ],
    scopes: ["openid", "offline_access", "profile", "email", ...DEMO_API_SCOPES],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "roles"] },
    findAccount: (_ctx: unknown, id: string) => {
      const user = DEMO_USERS[id];
      if (user === undefined) return undefined;
      return {
        accountId: id,
        claims: () => ({ sub: id, email: user.email, email_verified: true, name: user.name, roles: [...user.roles] }),
      };
    },
    // Access tokens carry the user's email and roles so that Portcullis can map them to headers.
    extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) => {
      const user = token.accountId === undefined ? undefined : DEMO_USERS[token.accountId];
      return user === undefined ? undefined : { email: user.email, roles: [...user.roles] };
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => resourceServerInfo,
      },
    },
    // The demo's first-party browser client needs no consent screen.
    loadExistingGrant: async (ctx: GrantContext) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (ctx.oidc.client.clientId !== DEMO_WEB_CLIENT_ID || !ctx.oidc.session?.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope("openid profile email offline_access");
      grant.addResourceScope(resource, DEMO_API_SCOPES.join(" "));
      await grant.save();
      return grant;
    },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 86_400,
      Interaction: 3600,
      Session: 86_400,
      Grant: 86_400,
    },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    pkce: { required: () => true },
    renderError: (ctx: { type: string; body: string }, out: { error: string; error_description?: string }) => {
      ctx.type = "application/json";
      ctx.body = JSON.stringify({ error: out.error, error_description: out.error_description });
    },
  });
  const providerHandler = provider.callback();
  const client = async (id: string) => {
    const found = await provider.Client.find(id);
    if (found === undefined) throw new Error(`dev IdP client ${id} missing`);
    return found;
  };

  async function mintUserToken(userName: string, scopes: readonly string[] = ["openid", ...DEMO_API_SCOPES]): Promise<string> {
    const user = DEMO_USERS[userName];
    if (user === undefined) throw new Error(`unknown demo user ${JSON.stringify(userName)} (known: ${Object.keys(DEMO_USERS).join(", ")})`);
    const token = new provider.AccessToken({
      accountId: user.sub,
      client: await client(DEMO_WEB_CLIENT_ID),
      scope: scopes.join(" "),
      gty: "authorization_code",
      resourceServer: new provider.ResourceServer(resource, resourceServerInfo),
    });
    return token.save();
  }

  async function clientCredentialsToken(scopes: readonly string[] = DEMO_API_SCOPES): Promise<string> {
    return fetchClientCredentialsToken({
      tokenEndpoint: `${issuer}/token`,
      clientId: DEMO_CLIENT_ID,
      clientSecret: cliSecret,
      scopes,
      resource,
    });
  }

  handler = (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === MINT_USER_TOKEN_PATH) {
      void serveMint(req, res, options.mintSecret, mintUserToken);
      return;
    }
    providerHandler(req, res);
  };

  return {
    issuer,
    port,
    audience,
    resource,
    tokenEndpoint: `${issuer}/token`,
    cliClient: { id: DEMO_CLIENT_ID, secret: cliSecret },
    webClient: { id: DEMO_WEB_CLIENT_ID, secret: webSecret },
    mintUserToken,
    clientCredentialsToken,
    close: () => closeServer(server),
  };
}

interface GrantLike {
  addOIDCScope(scope: string): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}

interface GrantContext {
  oidc: {
    result?: { consent?: { grantId?: string } };
    session?: { accountId?: string; grantIdFor(clientId: string): string | undefined };
    client: { clientId: string };
    provider: {
      Grant: { find(id: string): Promise<GrantLike | undefined> } & (new (fields: Record<string, unknown>) => GrantLike);
    };
  };
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
  const basic = Buffer.from(`${encodeURIComponent(request.clientId)}:${encodeURIComponent(request.clientSecret)}`).toString("base64");
  const response = await fetch(request.tokenEndpoint, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body,
    signal: AbortSignal.timeout(5000),
  });
  const json = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || typeof json.access_token !== "string") {
    throw new Error(`token endpoint answered ${response.status}: ${json.error ?? "no access_token"}${json.error_description ? ` (${json.error_description})` : ""}`);
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
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
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
    const raw = await readBody(req, 4096);
    const { user, scopes } = JSON.parse(raw) as { user?: unknown; scopes?: unknown };
    if (typeof user !== "string") throw new Error("body needs a string `user`");
    const scopeList = Array.isArray(scopes) && scopes.every((s) => typeof s === "string") ? (scopes as string[]) : undefined;
    send(200, { access_token: await mint(user, scopeList) });
  } catch (error) {
    send(400, { error: "invalid_request", error_description: (error as Error).message });
  }
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
