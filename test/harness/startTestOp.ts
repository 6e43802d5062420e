// A real OpenID Provider (oidc-provider) for login-client tests: 127.0.0.1, port 0, one confidential
// client (code + refresh, PKCE required, rotating refresh tokens, short access tokens), the dev login
// screen, and a count of every request by path so tests can assert how often the IdP was called.
// Also drives a login without a browser: follows redirects and posts the dev login form.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import { Provider } from "oidc-provider";

export const TEST_OP_CLIENT_ID = "portcullis-test";
/** A public client (no secret, PKCE only) with the same redirect URI. */
export const TEST_OP_PUBLIC_CLIENT_ID = "portcullis-public";
export const TEST_OP_REDIRECT_URI = "https://app.example.test/oauth2/callback";
export const TEST_OP_POST_LOGOUT_URI = "https://app.example.test/signed-out";

export interface TestOpOptions {
  readonly accessTokenTtlSeconds?: number;
}

export interface TestOp {
  readonly issuer: string;
  /** The discovery document as served. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /** Requests received so far, by path (e.g. "/token"). */
  readonly requests: Map<string, number>;
  count(path: string): number;
  close(): Promise<void>;
}

export async function startTestOp(options: TestOpOptions = {}): Promise<TestOp> {
  const requests = new Map<string, number>();
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    if (handler === undefined) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientSecret = randomBytes(24).toString("base64url");
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "test-op-rs256", alg: "RS256", use: "sig" };

  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    clients: [
      {
        client_id: TEST_OP_CLIENT_ID,
        client_secret: clientSecret,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: [TEST_OP_REDIRECT_URI],
        post_logout_redirect_uris: [TEST_OP_POST_LOGOUT_URI],
        token_endpoint_auth_method: "client_secret_basic",
      },
      {
        client_id: TEST_OP_PUBLIC_CLIENT_ID,
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: [TEST_OP_REDIRECT_URI],
        token_endpoint_auth_method: "none",
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@example.test`, email_verified: true, name: id }),
    }),
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // A first-party client: no consent screen, and a refresh token without offline_access (which
    // oidc-provider only honours with prompt=consent).
    loadExistingGrant: async (ctx: GrantContext) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session?.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      if (!ctx.oidc.session?.accountId) return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope("openid profile email");
      await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    pkce: { required: () => true },
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 60,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 86_400,
      Interaction: 3600,
      Session: 86_400,
      Grant: 86_400,
    },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
  } as ConstructorParameters<typeof Provider>[1]);
  handler = provider.callback();

  const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  const metadata = Object.freeze((await response.json()) as Record<string, unknown>);

  return {
    issuer,
    metadata,
    clientId: TEST_OP_CLIENT_ID,
    clientSecret,
    redirectUri: TEST_OP_REDIRECT_URI,
    requests,
    count: (path) => requests.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A browser's cookie store, reduced to what a single-origin IdP needs (paths are ignored). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [key = "", v = ""] = a.trim().split("=");
        if (key.toLowerCase() === "max-age") return Number(v) <= 0;
        if (key.toLowerCase() === "expires") return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === "") this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

/**
 * Follows the authorization URL like a browser until the IdP redirects to `redirectUri`, logging in
 * as `user` on the dev login form when asked; returns the callback's query parameters.
 */
export async function loginAtTestOp(
  authorizationUrl: string,
  redirectUri: string,
  user: string,
  jar = new CookieJar(),
): Promise<URLSearchParams> {
  let next: { url: string; init: RequestInit } = { url: authorizationUrl, init: { method: "GET" } };
  for (let hop = 0; hop < 10; hop += 1) {
    const response = await fetch(next.url, {
      ...next.init,
      redirect: "manual",
      headers: { ...(next.init.headers as Record<string, string> | undefined), cookie: jar.header() },
      signal: AbortSignal.timeout(5000),
    });
    jar.store(response);
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      const target = new URL(location, next.url);
      if (target.href.startsWith(redirectUri)) return target.searchParams;
      next = { url: target.href, init: { method: "GET" } };
      continue;
    }
    const html = await response.text();
    if (response.status !== 200)
      throw new Error(`the IdP answered ${response.status} at ${next.url}: ${html.slice(0, 300)}`);
    // The dev interaction's login form: <form action="/interaction/<uid>/login" method="post"> with
    // hidden prompt=login and the login/password inputs.
    const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(html)?.[1];
    if (action === undefined || !html.includes('name="login"')) throw new Error(`no login form at ${next.url}`);
    next = {
      url: new URL(action.replaceAll("&amp;", "&"), next.url).href,
      init: {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ prompt: "login", login: user, password: "any" }).toString(),
      },
    };
  }
  throw new Error("too many redirects while logging in at the test IdP");
}

interface GrantLike {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}

interface GrantContext {
  oidc: {
    result?: { consent?: { grantId?: string } };
    session?: { accountId?: string; grantIdFor(clientId: string): string | undefined };
    client: { clientId: string };
    provider: {
      Grant: { find(id: string): Promise<GrantLike | undefined> } & (new (
        fields: Record<string, unknown>,
      ) => GrantLike);
    };
  };
}
