// Cross-field rules for the IdP-convention keys of providers (presets already applied): tenant
// templates need an explicit tenant policy, token issuers stay unambiguous across providers, the
// login's extra parameters leave the protocol's own alone, and known IdP pitfalls are reported.
import type { PartialConfig } from "./checkConfigRules.ts";
import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";
import { RESERVED_AUTHORIZATION_PARAMS } from "./providerConventionFields.ts";

type ConventionProvider = NonNullable<PartialConfig["providers"]>[string];

export interface ConventionFindings {
  readonly problems: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

export const TENANT_PLACEHOLDER = "{tenantid}";

export function checkProviderConventions(providers: PartialConfig["providers"], findings: ConventionFindings): void {
  const entries = Object.entries(providers ?? {});
  for (const [name, provider] of entries) checkProvider(keyPath("providers", name), provider, findings);
  checkIssuerOwners(entries, findings);
}

function checkProvider(path: string, provider: ConventionProvider, { problems, warnings }: ConventionFindings): void {
  const at = (key: string) => keyPath(path, key);
  if (typeof provider.issuer === "string" && provider.issuer.includes(TENANT_PLACEHOLDER)) {
    problems.push({
      path: at("issuer"),
      message: `cannot hold ${TENANT_PLACEHOLDER}: discovery needs a real URL; use the multi-tenant endpoint (e.g. https://login.microsoftonline.com/organizations/v2.0 with preset: entra) and put the template in tokenIssuers`,
    });
  }
  const tokenIssuers = (provider.tokenIssuers ?? []).filter((i): i is string => i !== undefined);
  tokenIssuers.forEach((issuer, index) => {
    if (/[{}]/.test(issuer.replaceAll(TENANT_PLACEHOLDER, ""))) {
      problems.push({
        path: keyPath(at("tokenIssuers"), index),
        message: `only ${TENANT_PLACEHOLDER} may be written in braces`,
      });
    }
  });
  const template = tokenIssuers.find((issuer) => issuer.includes(TENANT_PLACEHOLDER));
  const allowed = (provider.allowedTenants ?? []).length > 0;
  if (template !== undefined && !allowed && provider.allowAnyTenant !== true) {
    problems.push({
      path: at("allowedTenants"),
      message: `is required with the multi-tenant issuer ${template}: list the tenant ids (tid) whose users may sign in, or set allowAnyTenant: true to accept every tenant`,
    });
  }
  if (template === undefined && (allowed || provider.allowAnyTenant === true)) {
    problems.push({
      path: at(allowed ? "allowedTenants" : "allowAnyTenant"),
      message: `only applies to a multi-tenant issuer (a tokenIssuers entry with ${TENANT_PLACEHOLDER})`,
    });
  }
  if (allowed && provider.allowAnyTenant === true) {
    problems.push({ path: at("allowAnyTenant"), message: "contradicts allowedTenants: keep one of them" });
  }
  if (template !== undefined && !allowed && provider.allowAnyTenant === true) {
    warnings.push({
      path: at("allowAnyTenant"),
      message: "is true: users of every tenant can sign in; restrict routes by role or claim, or list allowedTenants",
    });
  }
  if (typeof provider.claimNamespace === "string" && provider.preset !== "auth0") {
    problems.push({
      path: at("claimNamespace"),
      message: "is read only by preset: auth0; set roleClaims and groupClaims instead",
    });
  }
  for (const param of Object.keys(provider.authorizationParams ?? {})) {
    if (RESERVED_AUTHORIZATION_PARAMS.includes(param)) {
      problems.push({
        path: keyPath(at("authorizationParams"), param),
        message: "is set by Portcullis itself for every login and cannot be configured",
      });
    }
  }
  const logoutUrl = provider.logout?.url;
  if (typeof logoutUrl === "string" && logoutUrl.startsWith("http://") && provider.allowInsecureHttp !== true) {
    problems.push({
      path: keyPath(at("logout"), "url"),
      message: "must be an https:// URL (got an http:// URL); set allowInsecureHttp: true for local development only",
    });
  }
  checkPresetPitfalls(at, provider, { problems, warnings });
  checkIdTokenAudience(at, provider, warnings);
  if (provider.introspection?.enabled === true && provider.introspection.requireAudience === false) {
    warnings.push({
      path: keyPath(at("introspection"), "requireAudience"),
      message:
        "is false: an active token whose introspection answer names no aud is accepted, even one the provider minted for another resource server; keep it true unless the provider never reports aud",
    });
  }
}

/**
 * An ID token's aud is the login client: with the client id among `audiences`, only a token-type
 * rule tells the provider's ID tokens from its access tokens. Portcullis refuses ID tokens that
 * carry nonce, at_hash or c_hash whatever the config, but not every ID token carries them.
 */
function checkIdTokenAudience(
  at: (key: string) => string,
  provider: ConventionProvider,
  warnings: ConfigIssue[],
): void {
  const { clientId } = provider;
  if (typeof clientId !== "string" || !(provider.audiences ?? []).includes(clientId)) return;
  // Google's ID tokens are its bearer credential by design (its access tokens are opaque).
  if (provider.opaqueAccessTokens === true) return;
  if (provider.requireAccessTokenType === true || Object.keys(provider.accessTokenClaims ?? {}).length > 0) return;
  warnings.push({
    path: at("audiences"),
    message: `includes the login client id ${JSON.stringify(clientId)} without a token-type check, so an ID token issued to that client could pass as an access token: set requireAccessTokenType: true (IdP issues typ at+jwt) or accessTokenClaims (e.g. token_use: access), or give the API an audience of its own (Entra: api://<app-id>)`,
  });
}

/** Mistakes specific to one IdP that the generic rules cannot see. */
function checkPresetPitfalls(
  at: (key: string) => string,
  provider: ConventionProvider,
  { problems, warnings }: ConventionFindings,
): void {
  if (
    provider.preset === "google" &&
    provider.introspection?.enabled === true &&
    provider.introspection.endpoint == null
  ) {
    problems.push({
      path: keyPath(at("introspection"), "enabled"),
      message:
        "Google has no RFC 7662 introspection endpoint: its opaque access tokens cannot be checked; API callers present a Google ID token (aud = one of audiences) instead",
    });
  }
  if (
    provider.preset === "okta" &&
    typeof provider.issuer === "string" &&
    !/\/oauth2\/[^/]+\/?$/.test(provider.issuer)
  ) {
    warnings.push({
      path: at("issuer"),
      message:
        "is Okta's org authorization server, whose access tokens only Okta can validate: use a custom authorization server (https://<org>.okta.com/oauth2/default) for API tokens",
    });
  }
  const login = typeof provider.clientId === "string" && typeof provider.redirectUri === "string";
  if (provider.preset === "auth0" && login && provider.authorizationParams?.["audience"] === undefined) {
    warnings.push({
      path: at("authorizationParams"),
      message:
        "has no audience: Auth0 then issues an opaque access token at login, and sessions get roles and groups from the ID token only",
    });
  }
}

/** A token finds its provider by `iss`: no issuer or template may belong to two providers. */
function checkIssuerOwners(entries: [string, ConventionProvider][], { problems }: ConventionFindings): void {
  const owner = new Map<string, string>();
  for (const [name, provider] of entries) {
    if (typeof provider.issuer === "string" && !owner.has(provider.issuer)) owner.set(provider.issuer, name);
  }
  for (const [name, provider] of entries) {
    (provider.tokenIssuers ?? []).forEach((issuer, index) => {
      if (issuer === undefined) return;
      const first = owner.get(issuer);
      if (first !== undefined && first !== name) {
        problems.push({
          path: keyPath(keyPath(keyPath("providers", name), "tokenIssuers"), index),
          message: `is an issuer of providers.${first} too; each issuer may belong to one provider`,
        });
      } else owner.set(issuer, name);
    });
  }
}
