// The embedded development OpenID Provider (oidc-provider) for `portcullis demo` and the e2e tests.
// Loopback only, in-memory state, a plain login page: never a production IdP. It issues RFC 9068
// JWT access tokens for one API audience (resource indicators), rotates refresh tokens, answers
// introspection, counts the calls tests care about, and mints tokens without a browser.
// This module is the dev IdP's public surface: tests and the benchmark import it from here only.

import { randomBytes } from "node:crypto";
import type { X509Certificate } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Provider } from "oidc-provider";
import { countDevIdpRequests, zeroDevIdpCounts } from "./countDevIdpRequests.ts";
import { createDevIdpProvider } from "./createDevIdpProvider.ts";
import type { DevIdpResourceServer } from "./createDevIdpProvider.ts";
import { DEMO_USERS, findDemoUser, loginFactsFor } from "./demoAccounts.ts";
import type { LoginFacts } from "./demoAccounts.ts";
import {
  DEMO_API_SCOPES,
  DEMO_AUDIENCE,
  DEMO_BATCH_CLIENT_ID,
  DEMO_CLIENT_ID,
  DEMO_EXCHANGE_CLIENT_ID,
  DEMO_WEB_CLIENT_ID,
  demoClients,
  MACHINE_CLIENT_SCOPES,
} from "./demoClients.ts";
import type { DevIdp, DevIdpOptions, MachineClient } from "./DevIdp.ts";
import { fetchClientCredentialsToken } from "./fetchClientCredentialsToken.ts";
import { handleDevIdpInteraction } from "./handleDevIdpInteraction.ts";
import { closeServer, listenServer } from "./listenServer.ts";
import { MINT_USER_TOKEN_PATH, serveMintUserToken } from "./serveMintUserToken.ts";
import type { MintUserToken } from "./serveMintUserToken.ts";

export { createSigningJwk } from "./createSigningJwk.ts";
export type { SigningJwk } from "./createSigningJwk.ts";
export { DEMO_USERS, LOA_PASSWORD, LOA_SECOND_FACTOR } from "./demoAccounts.ts";
export type { DemoUser, LoginFacts } from "./demoAccounts.ts";
export {
  DEMO_API_SCOPES,
  DEMO_AUDIENCE,
  DEMO_BATCH_CLIENT_ID,
  DEMO_BATCH_SCOPES,
  DEMO_CLIENT_ID,
  DEMO_EXCHANGE_CLIENT_ID,
  DEMO_WEB_CLIENT_ID,
} from "./demoClients.ts";
export type { DevIdp, DevIdpCounts, DevIdpOptions, MachineClient } from "./DevIdp.ts";
export { fetchClientCredentialsToken } from "./fetchClientCredentialsToken.ts";
export type { ClientCredentialsRequest } from "./fetchClientCredentialsToken.ts";
export { LOGIN_FIELDS } from "./renderLoginPage.ts";
export { MINT_USER_TOKEN_PATH } from "./serveMintUserToken.ts";

/** The resource indicator must be an absolute URI; a bare audience name becomes a URN. */
export function resourceIndicatorFor(audience: string): string {
  return URL.canParse(audience) ? audience : `urn:portcullis:audience:${audience}`;
}

export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  if (options.signingKeys.length === 0) throw new Error("the dev IdP needs at least one signing key");
  const audience = options.audience ?? DEMO_AUDIENCE;
  const resource = resourceIndicatorFor(audience);
  const secret = () => randomBytes(24).toString("base64url");
  const cliClient = { id: DEMO_CLIENT_ID, secret: options.cliClientSecret ?? secret() };
  const batchClient = { id: DEMO_BATCH_CLIENT_ID, secret: options.batchClientSecret ?? secret() };
  const webClient = { id: DEMO_WEB_CLIENT_ID, secret: options.webClientSecret ?? secret() };
  const exchangeClient = { id: DEMO_EXCHANGE_CLIENT_ID, secret: options.exchangeClientSecret ?? secret() };
  const resourceServer: DevIdpResourceServer = {
    scope: DEMO_API_SCOPES.join(" "),
    audience,
    accessTokenFormat: options.accessTokenFormat ?? "jwt",
    accessTokenTTL: options.accessTokenTtlSeconds ?? 600,
    jwt: { sign: { alg: "RS256" } },
  };
  const mintedLogins = new WeakMap<object, LoginFacts>();

  // Listen first so the issuer carries the real port when port 0 was asked for.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => (handler === undefined ? res.writeHead(503).end() : handler(req, res)));
  await listenServer(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const provider = createDevIdpProvider({
    issuer,
    signingKeys: options.signingKeys,
    clients: demoClients({
      cliClient,
      batchClient,
      webClient,
      exchangeClient,
      webRedirectUris: options.webRedirectUris ?? ["https://localhost:8443/oauth2/callback"],
      webPostLogoutRedirectUris: options.webPostLogoutRedirectUris ?? ["https://localhost:8443/"],
      webBackchannelLogoutUri: options.webBackchannelLogoutUri,
    }),
    resource,
    resourceServer,
    idTokenTtlSeconds: options.idTokenTtlSeconds ?? 3600,
    refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? 86_400,
    mintedLogins,
  });
  const counts = zeroDevIdpCounts();
  countDevIdpRequests(provider, counts);

  const mint = userTokenMinter(provider, resource, resourceServer, mintedLogins);
  const defaultUserScopes = ["openid", ...DEMO_API_SCOPES];
  handler = devIdpRequestHandler(provider, options.mintSecret, (user, scopes, boundCertificate) =>
    mint("jwt", user, scopes ?? defaultUserScopes, {}, boundCertificate),
  );

  return {
    issuer,
    port,
    audience,
    resource,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    endSessionEndpoint: `${issuer}/session/end`,
    cliClient,
    batchClient,
    webClient,
    exchangeClient,
    counts,
    resetCounts: () => Object.assign(counts, zeroDevIdpCounts()),
    mintUserToken: (user, scopes = defaultUserScopes, login = {}) => mint("jwt", user, scopes, login),
    opaqueToken: (user, scopes = defaultUserScopes, login = {}) => mint("opaque", user, scopes, login),
    clientCredentialsToken: (scopes, clientId = DEMO_CLIENT_ID) =>
      machineToken([cliClient, batchClient], clientId, scopes, `${issuer}/token`, resource),
    close: () => closeServer(server),
  };
}

/** Routes the mint endpoint and the interaction screens to our code, everything else to oidc-provider. */
function devIdpRequestHandler(
  provider: Provider,
  mintSecret: string | undefined,
  mint: MintUserToken,
): (req: IncomingMessage, res: ServerResponse) => void {
  const providerHandler = provider.callback();
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === MINT_USER_TOKEN_PATH) void serveMintUserToken(req, res, mintSecret, mint);
    else if (path.startsWith("/interaction/")) void handleDevIdpInteraction(provider, req, res, path);
    else providerHandler(req, res);
  };
}

type UserTokenMinter = (
  format: "jwt" | "opaque",
  userName: string,
  scopes: readonly string[],
  login: Partial<LoginFacts>,
  boundCertificate?: X509Certificate,
) => Promise<string>;

/** Access tokens for a demo user as if demo-web had obtained them, without a browser. */
function userTokenMinter(
  provider: Provider,
  resource: string,
  resourceServer: DevIdpResourceServer,
  mintedLogins: WeakMap<object, LoginFacts>,
): UserTokenMinter {
  return async (format, userName, scopes, login, boundCertificate) => {
    const user = findDemoUser(userName);
    if (user === undefined)
      throw new Error(`unknown demo user ${JSON.stringify(userName)} (known: ${Object.keys(DEMO_USERS).join(", ")})`);
    const client = await provider.Client.find(DEMO_WEB_CLIENT_ID);
    if (client === undefined) throw new Error(`dev IdP client ${DEMO_WEB_CLIENT_ID} missing`);
    const token = new provider.AccessToken({
      accountId: user.sub,
      client,
      scope: scopes.join(" "),
      gty: "authorization_code",
      resourceServer: new provider.ResourceServer(resource, { ...resourceServer, accessTokenFormat: format }),
    });
    // As oidc-provider binds a token to the certificate a client authenticated with (RFC 8705).
    if (boundCertificate !== undefined) token.setThumbprint("x5t", boundCertificate);
    mintedLogins.set(token, { ...loginFactsFor(false), ...login });
    return token.save();
  };
}

function machineToken(
  clients: readonly MachineClient[],
  clientId: string,
  scopes: readonly string[] | undefined,
  tokenEndpoint: string,
  resource: string,
): Promise<string> {
  const client = clients.find((known) => known.id === clientId);
  if (client === undefined)
    return Promise.reject(new Error(`${JSON.stringify(clientId)} is not a machine client of the dev IdP`));
  return fetchClientCredentialsToken({
    tokenEndpoint,
    clientId,
    clientSecret: client.secret,
    scopes: scopes ?? MACHINE_CLIENT_SCOPES[clientId] ?? [],
    resource,
  });
}
