// A minimal IdP for OIDC unit tests: a real HTTP server on 127.0.0.1, port 0, serving a discovery
// document and a JWKS it can rotate or take down, counting every request; plus real signing keys.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function createSigningKey(kid: string, alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export interface LoopbackIdp {
  readonly issuer: string;
  readonly requests: { discovery: number; jwks: number; other: number };
  /** JWKS served from now on. */
  keys: JWK[];
  /** When set, /jwks answers jwksDownStatus (503 unless changed). */
  jwksDown: boolean;
  jwksDownStatus: number;
  /** Appended to the jwks_uri the discovery document names, e.g. a query string that must not be logged. */
  jwksUriSuffix: string;
  /** When set, the discovery document claims this issuer instead of the real one. */
  discoveryIssuer: string | undefined;
  close(): Promise<void>;
}

export async function startLoopbackIdp(keys: JWK[]): Promise<LoopbackIdp> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/.well-known/openid-configuration") {
      idp.requests.discovery += 1;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          issuer: idp.discoveryIssuer ?? idp.issuer,
          jwks_uri: `${idp.issuer}/jwks${idp.jwksUriSuffix}`,
        }),
      );
      return;
    }
    if (path === "/jwks") {
      idp.requests.jwks += 1;
      if (idp.jwksDown) {
        res.statusCode = idp.jwksDownStatus;
        res.end("down");
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: idp.keys }));
      return;
    }
    idp.requests.other += 1;
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const idp: LoopbackIdp = {
    issuer: `http://127.0.0.1:${port}`,
    requests: { discovery: 0, jwks: 0, other: 0 },
    keys,
    jwksDown: false,
    jwksDownStatus: 503,
    jwksUriSuffix: "",
    discoveryIssuer: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return idp;
}

export function providerConfig(issuer: string, overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    name: "demo",
    issuer,
    audiences: ["api"],
    algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
    clockToleranceSeconds: 60,
    requireAccessTokenType: false,
    jwksUri: null,
    discoveryTimeoutMs: 2000,
    jwksTimeoutMs: 2000,
    jwksCooldownSeconds: 30,
    jwksMaxAgeSeconds: 600,
    allowInsecureHttp: true,
    clientId: null,
    clientSecret: null,
    scopes: ["openid", "profile", "email"],
    consentScopes: [],
    redirectUri: null,
    requestTimeoutMs: 800,
    codeExchangeTimeoutMs: 5000,
    introspection: {
      enabled: false,
      endpoint: null,
      authMethod: "client_secret_basic",
      cacheTtlSeconds: 60,
      jwt: false,
      requireAudience: true,
    },
    ...overrides,
  };
}

/** Signs claims with defaults that make a valid token: iss, aud "api", iat now, exp in 5 min. */
export async function signToken(
  key: SigningKey,
  issuer: string,
  claims: JWTPayload = {},
  options: { nowSeconds?: number; typ?: string; kid?: string | null } = {},
): Promise<string> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const header: { alg: string; kid?: string; typ?: string } = { alg: key.alg };
  if (options.kid !== null) header.kid = options.kid ?? key.kid;
  if (options.typ !== undefined) header.typ = options.typ;
  return new SignJWT({ iss: issuer, aud: "api", sub: "user-1", iat: now, exp: now + 300, ...claims })
    .setProtectedHeader(header)
    .sign(key.privateKey);
}
