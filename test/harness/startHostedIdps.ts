// Fake hosted IdPs on loopback: one HTTP server (port 0) serving each IdP's recorded-shape discovery
// document (test/fixtures/hosted-idps, URLs rewritten to this server), a JWKS with a key of its own,
// and a token endpoint that answers what a test sets. A second listener plays Cognito's hosted-UI
// domain, a different origin from its issuer as in real user pools. Nothing here calls the internet.
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";

export type HostedIdpName =
  "keycloak" | "auth0" | "okta" | "cognito" | "entra-tenant" | "entra-organizations" | "google";

/** The Entra tenant of entra-tenant.json. */
export const ENTRA_TENANT_ID = "9f3c6d2e-0b1a-4e5f-8a7b-1c2d3e4f5a6b";

export interface HostedIdp {
  readonly name: HostedIdpName;
  /** The issuer a config names (for entra-organizations the `organizations` endpoint, not the template). */
  readonly issuer: string;
  /** The discovery document as served. */
  readonly metadata: Record<string, unknown>;
  /** Signs exactly these claims (no defaults) with the IdP's key; `typ` goes in the JWS header. */
  sign(claims: JWTPayload, typ?: string): Promise<string>;
  /** The token endpoint's answer to the next request: a JSON body (200), or null for 400 invalid_grant. */
  tokenResponse: ((form: URLSearchParams) => Promise<Record<string, unknown> | null>) | null;
  /** Forms posted to the token endpoint. */
  readonly tokenRequests: URLSearchParams[];
  /** Extra members merged into the discovery document (e.g. an end_session_endpoint), set before providers load. */
  extraMetadata: Record<string, unknown>;
}

export interface HostedIdps {
  get(name: HostedIdpName): HostedIdp;
  close(): Promise<void>;
}

interface Spec {
  readonly fixture: string;
  readonly root: string;
  /** The configured issuer relative to root; defaults to the document's issuer. */
  readonly issuerPath?: string;
}

const SPECS: Readonly<Record<HostedIdpName, Spec>> = {
  keycloak: { fixture: "keycloak.json", root: "/keycloak" },
  auth0: { fixture: "auth0.json", root: "/auth0" },
  okta: { fixture: "okta.json", root: "/okta" },
  cognito: { fixture: "cognito.json", root: "/cognito" },
  "entra-tenant": { fixture: "entra-tenant.json", root: "/entra" },
  "entra-organizations": { fixture: "entra-organizations.json", root: "/entra", issuerPath: "/organizations/v2.0" },
  google: { fixture: "google.json", root: "/google" },
};

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("cache-control", "no-store");
  res.end(JSON.stringify(body));
}

export async function startHostedIdps(): Promise<HostedIdps> {
  type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
  const routes = new Map<string, Route>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const route = routes.get(new URL(req.url ?? "/", "http://x").pathname);
    if (route === undefined) {
      res.statusCode = 404;
      res.end();
      return;
    }
    Promise.resolve(route(req, res)).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  };
  const main = createServer(handler);
  const domain = createServer(handler);
  const base = await listen(main);
  const domainBase = await listen(domain);

  const idps = new Map<HostedIdpName, HostedIdp>();
  for (const [name, spec] of Object.entries(SPECS) as [HostedIdpName, Spec][]) {
    const root = `${base}${spec.root}`;
    const text = readFileSync(new URL(`../fixtures/hosted-idps/${spec.fixture}`, import.meta.url), "utf8")
      .replaceAll("{{root}}", root)
      .replaceAll("{{domain}}", domainBase);
    const metadata = JSON.parse(text) as Record<string, unknown>;
    const issuer = spec.issuerPath === undefined ? (metadata["issuer"] as string) : `${root}${spec.issuerPath}`;
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const kid = `${name}-key-1`;
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
    const idp: HostedIdp = {
      name,
      issuer,
      metadata,
      sign: (claims, typ = "JWT") => signWith(privateKey, kid, claims, typ),
      tokenResponse: null,
      tokenRequests: [],
      extraMetadata: {},
    };
    idps.set(name, idp);
    routes.set(new URL(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`).pathname, (_req, res) =>
      json(res, 200, { ...metadata, ...idp.extraMetadata }),
    );
    routes.set(new URL(metadata["jwks_uri"] as string).pathname, (_req, res) => json(res, 200, { keys: [publicJwk] }));
    routes.set(new URL(metadata["token_endpoint"] as string).pathname, async (req, res) => {
      const form = new URLSearchParams(await readBody(req));
      idp.tokenRequests.push(form);
      const answer = idp.tokenResponse === null ? null : await idp.tokenResponse(form);
      if (answer === null) json(res, 400, { error: "invalid_grant", error_description: "no answer set up" });
      else json(res, 200, answer);
    });
  }

  return {
    get(name) {
      return idps.get(name) as HostedIdp;
    },
    async close() {
      for (const server of [main, domain]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

function signWith(privateKey: CryptoKey, kid: string, claims: JWTPayload, typ: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid, typ }).sign(privateKey);
}
