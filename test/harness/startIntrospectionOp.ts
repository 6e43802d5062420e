// A real OpenID Provider (oidc-provider) on 127.0.0.1, port 0, for introspection tests: it issues
// opaque access tokens to a client-credentials machine client, introspects them for one confidential
// gateway client (RFC 7662), revokes them (RFC 7009), and counts the introspection calls it gets.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { Provider } from "oidc-provider";

export const GATEWAY_CLIENT_ID = "portcullis-gateway";
/** Characters that must be form-urlencoded before Basic authentication (RFC 6749 §2.3.1). */
export const GATEWAY_CLIENT_SECRET = "gw s3cret:with+reserved%chars/=&";
export const MACHINE_CLIENT_ID = "orders-worker";
export const MACHINE_SCOPES = ["orders:read", "orders:write"] as const;
/** The API the resource-bound tokens are for; their introspection answers carry it as `aud`. */
export const API_AUDIENCE = "orders-api";
export const API_RESOURCE = "urn:portcullis:test:orders-api";

export interface IntrospectionOp {
  readonly issuer: string;
  /** `introspection_endpoint` read from the provider's discovery document. */
  readonly introspectionEndpoint: URL;
  /** Requests that reached the introspection endpoint, and how each authenticated its client. */
  readonly introspections: { count: number; readonly auth: Array<"basic" | "body"> };
  /** A client-credentials access token; opaque. `resource` binds it to API_AUDIENCE; `dpop` sender-constrains it. */
  clientCredentialsToken(options?: {
    scopes?: readonly string[];
    resource?: boolean;
    dpop?: boolean;
  }): Promise<TokenResponse>;
  revoke(token: string): Promise<void>;
  close(): Promise<void>;
}

export interface TokenResponse {
  readonly accessToken: string;
  readonly expiresIn: number;
}

export async function startIntrospectionOp(options: { accessTokenTtlSeconds?: number } = {}): Promise<IntrospectionOp> {
  const ttl = options.accessTokenTtlSeconds ?? 600;
  const machineSecret = randomBytes(24).toString("base64url");
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), kid: "op-1", alg: "RS256", use: "sig" };

  const introspections = { count: 0, auth: [] as Array<"basic" | "body"> };
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://x").pathname === "/token/introspection") {
      introspections.count += 1;
      introspections.auth.push(req.headers.authorization === undefined ? "body" : "basic");
    }
    if (handler === undefined) res.writeHead(503).end();
    else handler(req, res);
  });
  // Listen first so that the issuer carries the real port.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    jwks: { keys: [signingJwk] },
    clients: [
      {
        // Confidential, may do nothing but introspect: the role Portcullis plays.
        client_id: GATEWAY_CLIENT_ID,
        client_secret: GATEWAY_CLIENT_SECRET,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: MACHINE_CLIENT_ID,
        client_secret: machineSecret,
        grant_types: ["client_credentials"],
        response_types: [],
        redirect_uris: [],
        scope: MACHINE_SCOPES.join(" "),
      },
    ],
    scopes: [...MACHINE_SCOPES],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) =>
          token.clientId === client.clientId,
      },
      dPoP: { enabled: true },
      introspection: {
        enabled: true,
        // Only the gateway learns what a token is; every other caller is told `active: false`.
        allowedPolicy: (_ctx: unknown, client: { clientId: string }) => client.clientId === GATEWAY_CLIENT_ID,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== API_RESOURCE) throw new Error(`unknown resource ${resource}`);
          return {
            scope: MACHINE_SCOPES.join(" "),
            audience: API_AUDIENCE,
            accessTokenFormat: "opaque",
            accessTokenTTL: ttl,
          };
        },
      },
    },
    ttl: { ClientCredentials: ttl, AccessToken: ttl },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
  });
  handler = provider.callback();

  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    introspection_endpoint?: unknown;
  };
  if (typeof discovery.introspection_endpoint !== "string")
    throw new Error("the provider advertises no introspection_endpoint");
  const introspectionEndpoint = new URL(discovery.introspection_endpoint);
  const machineAuth = `Basic ${Buffer.from(`${MACHINE_CLIENT_ID}:${machineSecret}`).toString("base64")}`;

  async function clientCredentialsToken(
    request: { scopes?: readonly string[]; resource?: boolean; dpop?: boolean } = {},
  ): Promise<TokenResponse> {
    const tokenEndpoint = `${issuer}/token`;
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      scope: (request.scopes ?? MACHINE_SCOPES).join(" "),
    });
    if (request.resource === true) body.set("resource", API_RESOURCE);
    const headers: Record<string, string> = {
      authorization: machineAuth,
      "content-type": "application/x-www-form-urlencoded",
    };
    if (request.dpop === true) headers["dpop"] = await dpopProof(tokenEndpoint);
    const response = await fetch(tokenEndpoint, { method: "POST", headers, body, signal: AbortSignal.timeout(5000) });
    const json = (await response.json()) as {
      access_token?: string;
      expires_in?: number;
      error?: string;
      error_description?: string;
    };
    if (!response.ok || typeof json.access_token !== "string") {
      throw new Error(
        `token endpoint answered ${response.status}: ${json.error ?? "no access_token"} ${json.error_description ?? ""}`,
      );
    }
    return { accessToken: json.access_token, expiresIn: json.expires_in ?? 0 };
  }

  async function revoke(token: string): Promise<void> {
    const response = await fetch(`${issuer}/token/revocation`, {
      method: "POST",
      headers: { authorization: machineAuth, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, token_type_hint: "access_token" }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`revocation endpoint answered ${response.status}`);
  }

  return {
    issuer,
    introspectionEndpoint,
    introspections,
    clientCredentialsToken,
    revoke,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A DPoP proof (RFC 9449) for one POST, with a fresh key: enough to get a DPoP-bound token. */
async function dpopProof(url: string): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  return new SignJWT({ htm: "POST", htu: url, jti: randomUUID() })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await exportJWK(publicKey) })
    .setIssuedAt()
    .sign(privateKey);
}
