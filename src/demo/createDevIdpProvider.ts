// Configures oidc-provider as the demo's IdP: the step-up login policy, claims and token contents,
// the features (client credentials, introspection, revocation, logout, resource indicators), the
// first-party grant without a consent screen, refresh-token rotation and lifetimes.

import { randomBytes } from "node:crypto";
import { interactionPolicy, Provider } from "oidc-provider";
import type { OidcClient, OidcContext, OidcTokenLike } from "oidc-provider";
import type { SigningJwk } from "./createSigningJwk.ts";
import { DEMO_ACR_VALUES, findDemoUser, meetsAcrValues } from "./demoAccounts.ts";
import type { LoginFacts } from "./demoAccounts.ts";
import { DEMO_API_SCOPES, DEMO_EXCHANGE_TARGETS, DEMO_WEB_CLIENT_ID, INTROSPECTING_CLIENTS } from "./demoClients.ts";
import { registerDevIdpTokenExchange } from "./registerDevIdpTokenExchange.ts";
import { renderLogoutPage, renderSignedOutPage } from "./renderLogoutPage.ts";

/** How the API's access tokens are issued (oidc-provider's resource server info). */
export interface DevIdpResourceServer {
  readonly scope: string;
  readonly audience: string;
  readonly accessTokenFormat: "jwt" | "opaque";
  readonly accessTokenTTL: number;
  readonly jwt: { readonly sign: { readonly alg: "RS256" } };
}

export interface DevIdpProviderSettings {
  readonly issuer: string;
  readonly signingKeys: readonly SigningJwk[];
  readonly clients: readonly Record<string, unknown>[];
  /** The resource indicator of the API and how its tokens are issued. */
  readonly resource: string;
  readonly resourceServer: DevIdpResourceServer;
  readonly idTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** How minted tokens' users signed in; tokens from real grants take it from the code or refresh token. */
  readonly mintedLogins: WeakMap<object, LoginFacts>;
}

export function createDevIdpProvider(settings: DevIdpProviderSettings): Provider {
  const accessTtl = settings.resourceServer.accessTokenTTL;
  const provider = new Provider(settings.issuer, {
    jwks: { keys: settings.signingKeys },
    clients: settings.clients,
    fetch: loopbackFetch,
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
    extraTokenClaims: (ctx: OidcContext | undefined, token: OidcTokenLike) =>
      personClaims(token, settings.mintedLogins.get(token) ?? loginOfGrant(ctx)),
    features: devIdpFeatures(settings),
    interactions: {
      policy: stepUpLoginPolicy(),
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    loadExistingGrant: (ctx: OidcContext) => loadFirstPartyGrant(ctx, settings.resource),
    // The browser client always gets a refresh token (with or without offline_access, no consent
    // prompt needed), and every refresh rotates it: a refresh token works exactly once.
    issueRefreshToken: (_ctx: unknown, client: OidcClient, code: OidcTokenLike) =>
      client.grantTypeAllowed("refresh_token") &&
      (client.clientId === DEMO_WEB_CLIENT_ID || code.scopes?.has("offline_access") === true),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      AuthorizationCode: 60,
      IdToken: settings.idTokenTtlSeconds,
      RefreshToken: settings.refreshTokenTtlSeconds,
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
  registerDevIdpTokenExchange(provider, { ...settings, targets: DEMO_EXCHANGE_TARGETS });
  return provider;
}

/**
 * oidc-provider refuses outgoing calls to loopback and private addresses (SSRF protection); this
 * IdP runs beside Portcullis on loopback and posts its back-channel logout tokens there, so a
 * loopback target (and only that) goes out without the protecting dispatcher.
 */
function loopbackFetch(url: URL | string, init: RequestInit & { dispatcher?: unknown }): Promise<Response> {
  const host = new URL(url).hostname;
  if (host === "127.0.0.1" || host === "localhost" || host === "[::1]") {
    const { dispatcher: _protected, ...rest } = init;
    return globalThis.fetch(url, rest);
  }
  return globalThis.fetch(url, init);
}

/**
 * oidc-provider treats acr_values as voluntary; a step-up must not be answered with the session's
 * weaker login, so acr_values above the session's level ask for a new login.
 */
function stepUpLoginPolicy(): ReturnType<typeof interactionPolicy.base> {
  const policy = interactionPolicy.base();
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
  return policy;
}

/**
 * User access tokens carry email, roles and the login's strength so that Portcullis can map them
 * to headers and check step-up; machine tokens (no account) carry nothing of a person.
 */
function personClaims(token: OidcTokenLike, login: LoginFacts | undefined): Record<string, unknown> | undefined {
  const user = token.accountId === undefined ? undefined : findDemoUser(token.accountId);
  if (user === undefined) return undefined;
  return {
    email: user.email,
    roles: [...user.roles],
    ...(login === undefined ? {} : { acr: login.acr, amr: [...login.amr], auth_time: login.authTime }),
  };
}

/** The login behind a code exchange or a refresh: the code or refresh token carries it. */
function loginOfGrant(ctx: OidcContext | undefined): LoginFacts | undefined {
  const entities = ctx?.oidc?.entities;
  const source = (entities?.AuthorizationCode ?? entities?.RefreshToken) as OidcTokenLike | undefined;
  if (source?.acr === undefined) return undefined;
  return { acr: source.acr, amr: source.amr ?? [], authTime: source.authTime ?? 0 };
}

function devIdpFeatures(settings: DevIdpProviderSettings): Record<string, unknown> {
  return {
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
      defaultResource: () => settings.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => settings.resourceServer,
    },
  };
}

/** The demo's first-party browser client needs no consent screen: its grant is made on first use. */
async function loadFirstPartyGrant(ctx: OidcContext, resource: string): Promise<unknown> {
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
}
