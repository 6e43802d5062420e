// Cross-field rules and warnings that one key alone cannot decide: providers named by routes exist,
// route names are unique, owned header names are distinct, http:// needs allowInsecureHttp, listeners
// do not collide. It reads the possibly partial output of parseWithSchema, so every field is optional.

import type { ConfigIssue } from "./ConfigIssue.ts";
import type { ConfigRule } from "./ConfigRule.ts";
import type { configSchema } from "./configSchema.ts";
import type { PartialOutput, SchemaOutput } from "./SchemaOutput.ts";
import { keyPath } from "./keyPath.ts";
import { checkAssertionRules } from "./checkAssertionRules.ts";
import { checkBindingRules } from "./checkBindingRules.ts";
import { checkConsentScopeRules } from "./checkConsentScopeRules.ts";
import { checkDpopRules } from "./checkDpopRules.ts";
import { checkProviderConventions } from "./checkProviderConventions.ts";
import { checkPolicyRules } from "./checkPolicyRules.ts";
import { checkRouteRules } from "./checkRouteRules.ts";
import { checkExchangeRules } from "./checkExchangeRules.ts";
import { checkKeySourceRules } from "./checkKeySourceRules.ts";
import { checkListenTlsRules } from "./checkListenTlsRules.ts";
import { checkTokenSourceRules } from "./checkTokenSourceRules.ts";
import { checkApiKeyRules } from "./checkApiKeyRules.ts";
import { checkForwardAuthRules } from "./checkForwardAuthRules.ts";
import { checkForwardTokenRules } from "./checkForwardTokenRules.ts";
import { checkMetadataRules } from "./checkMetadataRules.ts";
import { checkRouteAnswerRules } from "./checkRouteAnswerRules.ts";
import { checkRequestHeaderRemoval } from "./checkRequestHeaderRemoval.ts";
import { checkTraceRequestRules } from "./checkTraceRequestRules.ts";
import { checkRequestConditionRules } from "./checkRequestConditionRules.ts";

/** The parser's possibly partial output (SchemaOutput.ts), as every rule reads it. */
export type PartialConfig = PartialOutput<SchemaOutput<typeof configSchema>>;

export interface RuleFindings {
  readonly problems: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

/**
 * `routeRules`: rules from other rooms about routes; they run right after ours on routes.
 * `fromEnvironment`: key paths whose value came from `${ENV}` (a secret must).
 */
export function checkConfigRules(
  config: PartialConfig,
  findings: RuleFindings,
  routeRules: readonly ConfigRule[] = [],
  fromEnvironment: ReadonlySet<string> = new Set(),
): void {
  checkProviders(config, findings);
  checkProviderConventions(config.providers, findings);
  checkKeySourceRules(config, findings);
  checkLogin(config, findings);
  checkConsentScopeRules(config, findings);
  checkIntrospectionRouting(config, findings);
  checkLoginHosts(config, findings);
  checkRouteRules(config, findings);
  checkPolicyRules(config, findings);
  checkRequestConditionRules(config, findings);
  checkBindingRules(config, findings);
  checkDpopRules(config, findings);
  checkExchangeRules(config, findings);
  checkTokenSourceRules(config, findings);
  checkApiKeyRules(config, findings);
  for (const rule of routeRules) rule(config, findings);
  checkHeaders(config, findings);
  checkRequestHeaderRemoval(config, findings);
  checkAssertionRules(config, findings);
  checkMetadataRules(config, findings);
  checkRouteAnswerRules(config, findings);
  checkForwardTokenRules(config, findings);
  checkListen(config, findings);
  checkListenTlsRules(config, findings);
  checkRedis(config, findings);
  checkForwardAuthRules(config, findings);
  checkTraceRequestRules(config, findings, fromEnvironment);
}

function checkRedis(config: PartialConfig, { problems }: RuleFindings): void {
  const redis = config.redis ?? {};
  const hasUrl = typeof redis.url === "string";
  const sentinels = (redis.sentinels ?? []).length > 0;
  if (config.session?.store === "redis" && !hasUrl && !sentinels) {
    problems.push({
      path: "session.store",
      message:
        'is "redis" but no Redis is configured: set redis.url (e.g. "redis://127.0.0.1:6379") or redis.sentinels, or use store "cookie"',
    });
  }
  if (sentinels && typeof redis.sentinelMaster !== "string") {
    problems.push({
      path: "redis.sentinelMaster",
      message: "is required with redis.sentinels: the master's name as the sentinels know it (e.g. mymaster)",
    });
  }
  if (!sentinels && typeof redis.sentinelMaster === "string") {
    problems.push({
      path: "redis.sentinels",
      message: "must list the sentinels (host:port) when redis.sentinelMaster is set",
    });
  }
  if (typeof redis.caFile === "string" && !(hasUrl && (redis.url as string).startsWith("rediss:"))) {
    problems.push({
      path: "redis.caFile",
      message: "only applies to TLS: use a rediss:// redis.url, or remove caFile",
    });
  }
}

function checkProviders(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  // Tokens find their provider by exact `iss`, so two providers with one issuer would be ambiguous.
  const firstByIssuer = new Map<string, string>();
  for (const [name, provider] of Object.entries(config.providers ?? {})) {
    const path = keyPath("providers", name);
    if (typeof provider.issuer === "string") {
      const first = firstByIssuer.get(provider.issuer);
      if (first === undefined) firstByIssuer.set(provider.issuer, name);
      else
        problems.push({
          path: keyPath(path, "issuer"),
          message: `same issuer as providers.${first}; each issuer may be configured once`,
        });
    }
    const insecureAllowed = provider.allowInsecureHttp === true;
    for (const key of ["issuer", "jwksUri"] as const) {
      const url = provider[key];
      if (typeof url === "string" && url.startsWith("http://") && !insecureAllowed) {
        problems.push({
          path: keyPath(path, key),
          // The value is not quoted: a URL may carry a credential in its query, and may come from ${ENV}.
          message:
            "must be an https:// URL (got an http:// URL); set allowInsecureHttp: true for local development only",
        });
      }
    }
    if (insecureAllowed) {
      warnings.push({
        path: keyPath(path, "allowInsecureHttp"),
        message: "is true: http:// issuer and JWKS URLs are accepted; never use this in production",
      });
    }
  }
}

/**
 * An opaque token names no issuer, so a route that accepts several introspecting providers would
 * send one tenant's token to another tenant's introspection endpoint. Each such route must narrow
 * its providers to at most one that introspects.
 */
function checkIntrospectionRouting(config: PartialConfig, { problems }: RuleFindings): void {
  const introspecting = Object.entries(config.providers ?? {})
    .filter(([, provider]) => provider.introspection?.enabled === true)
    .map(([name]) => name);
  if (introspecting.length < 2) return;
  const list = introspecting.join(", ");
  (config.routes ?? []).forEach((route, index) => {
    if (route === undefined || route.auth === "public") return;
    if (route.auth == null && config.policy?.mode === "whitelist") return; // public by default there
    const accepted =
      route.providers === undefined || route.providers.length === 0
        ? introspecting
        : introspecting.filter((n) => route.providers?.includes(n));
    if (accepted.length > 1) {
      problems.push({
        path: keyPath(keyPath("routes", index), "providers"),
        message: `accepts several providers that introspect opaque tokens (${accepted.join(", ")}); an opaque token names no issuer, so list at most one of them here`,
      });
    }
  });
  if (config.policy?.mode === "whitelist") {
    problems.push({
      path: "policy.mode",
      message: `whitelist mode's default rule accepts every provider, and several introspect opaque tokens (${list}); use mode rules, with routes whose providers name at most one of them`,
    });
  }
}

/**
 * A login starts on the page's host (where the transaction cookie is set) and completes on the
 * redirectUri's host (where that cookie must be sent back): without a shared cookieDomain the two
 * must be the same host, or every login on that route ends in a 400.
 */
function checkLoginHosts(config: PartialConfig, { warnings }: RuleFindings): void {
  const providers = config.providers ?? {};
  const loginHost = (name: string): string | null => {
    const uri = providers[name]?.redirectUri;
    return typeof providers[name]?.clientId === "string" && typeof uri === "string" ? new URL(uri).hostname : null;
  };
  const firstLogin = Object.keys(providers).find((name) => loginHost(name) !== null);
  const domain = config.session?.cookieDomain ?? null;
  (config.routes ?? []).forEach((route, index) => {
    if (route === undefined || route.auth === "public" || route.match?.hosts === undefined) return;
    const provider =
      route.providers && route.providers.length > 0
        ? route.providers.find((n) => n !== undefined && loginHost(n) !== null)
        : firstLogin;
    const host = provider === undefined ? null : loginHost(provider);
    if (host === null) return;
    for (const routeHost of route.match.hosts) {
      if (routeHost === undefined || routeHost === host) continue;
      const bare: string = routeHost.startsWith("*.") ? routeHost.slice(2) : routeHost;
      const shared =
        typeof domain === "string" &&
        (bare === domain || bare.endsWith(`.${domain}`)) &&
        (host === domain || host.endsWith(`.${domain}`));
      if (!shared) {
        warnings.push({
          path: keyPath(keyPath(keyPath("routes", index), "match"), "host"),
          message: `${routeHost} is not the host of providers.${provider}.redirectUri (${host}): a browser login started there cannot complete; set session.cookieDomain to a domain both share, or give this host its own provider and redirectUri`,
        });
      }
    }
  });
}

/** The login callback path the auth listener serves; a redirectUri elsewhere could never complete. */
const CALLBACK_PATH = "/oauth2/callback";

function checkLogin(config: PartialConfig, { problems }: RuleFindings): void {
  const loginOrigins = new Set<string>();
  let anyLogin = false;
  for (const [name, provider] of Object.entries(config.providers ?? {})) {
    const path = keyPath("providers", name);
    const hasClient = typeof provider.clientId === "string";
    if (provider.introspection?.enabled === true && (!hasClient || typeof provider.clientSecret !== "string")) {
      problems.push({
        path: keyPath(keyPath(path, "introspection"), "enabled"),
        message: "needs clientId and clientSecret: the introspection endpoint authenticates Portcullis as a client",
      });
    }
    if (!hasClient) {
      if (typeof provider.redirectUri === "string") {
        problems.push({
          path: keyPath(path, "redirectUri"),
          message: "is set but clientId is not; browser login needs both",
        });
      }
      continue;
    }
    if (typeof provider.redirectUri !== "string") {
      // A client used only to authenticate introspection calls does no browser login.
      if (provider.introspection?.enabled === true) continue;
      problems.push({
        path: keyPath(path, "redirectUri"),
        message: `is required with clientId: the public URL of ${CALLBACK_PATH}, e.g. "https://app.example.com${CALLBACK_PATH}"`,
      });
      continue;
    }
    anyLogin = true;
    if (provider.scopes !== undefined && !provider.scopes.includes("openid")) {
      problems.push({ path: keyPath(path, "scopes"), message: 'must include "openid" for browser login' });
    }
    const url = new URL(provider.redirectUri);
    if (url.pathname !== CALLBACK_PATH || url.search !== "") {
      problems.push({
        path: keyPath(path, "redirectUri"),
        message: `must end in ${CALLBACK_PATH} (no query): that is where the auth listener completes logins`,
      });
    }
    if (url.protocol === "http:" && provider.allowInsecureHttp !== true) {
      problems.push({
        path: keyPath(path, "redirectUri"),
        message: "must be https: session cookies are Secure and browsers drop them over http",
      });
    }
    loginOrigins.add(url.origin);
  }
  const session = config.session ?? {};
  if (anyLogin && (session.keys ?? []).length === 0) {
    problems.push({
      path: "session.keys",
      message:
        "is required when a provider has a clientId and redirectUri (browser login seals cookies with it): add a secret of 32+ characters, e.g. from `openssl rand -base64 32`, through ${ENV_VAR}",
    });
  }
  if (
    typeof session.cookieName === "string" &&
    session.cookieName.startsWith("__Host-") &&
    typeof session.cookieDomain === "string"
  ) {
    problems.push({
      path: "session.cookieName",
      message: "a __Host- cookie cannot have a Domain: drop the prefix or unset cookieDomain",
    });
  }
  const target = session.postLogoutRedirect;
  if (typeof target === "string" && !target.startsWith("/")) {
    const origin = new URL(target).origin;
    if (!loginOrigins.has(origin) && !(session.allowedRedirectOrigins ?? []).includes(origin)) {
      problems.push({
        path: "session.postLogoutRedirect",
        message: `points to ${origin}, which is neither a login origin nor in session.allowedRedirectOrigins`,
      });
    }
  }
}

function checkHeaders(config: PartialConfig, { problems }: RuleFindings): void {
  const owner = new Map<string, string>();
  const claim = (name: string | undefined, path: string): void => {
    if (name === undefined) return;
    const first = owner.get(name);
    if (first === undefined) owner.set(name, path);
    else problems.push({ path, message: `header ${JSON.stringify(name)} is already used by ${first}` });
  };
  const identity = config.identity ?? {};
  for (const [key, name] of Object.entries(identity.headers ?? {})) claim(name, keyPath("identity.headers", key));
  for (const name of Object.keys(identity.claimHeaders ?? {})) claim(name, keyPath("identity.claimHeaders", name));
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

function checkListen(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const listen = config.listen ?? {};
  const seen = new Map<number, string>();
  for (const key of ["grpc", "auth", "admin"] as const) {
    const address = listen[key];
    if (address?.port === undefined || address.port === 0) continue;
    const first = seen.get(address.port);
    if (first === undefined) seen.set(address.port, key);
    else
      problems.push({
        path: keyPath("listen", key),
        message: `port ${address.port} is already used by listen.${first}`,
      });
  }
  const admin = listen.admin;
  if (admin?.host !== undefined && !LOOPBACK.test(admin.host)) {
    warnings.push({
      path: "listen.admin",
      message: `is not on loopback (${admin.host}): /metrics and health endpoints are reachable from the network`,
    });
  }
}
