// The parsed, fully-defaulted, frozen configuration. `parseConfig` is the only producer; every
// other room reads this shape and never the YAML.

import type { PathShape } from "./pathShapeNames.ts";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ProviderConfig {
  /** The key under `providers`; a bounded metric label. */
  readonly name: string;
  /** Exact issuer; tokens' `iss` must equal it and discovery must confirm it. */
  readonly issuer: string;
  /** Tokens must carry at least one of these in `aud`. */
  readonly audiences: readonly string[];
  /** Allowlist of JWS algorithms (asymmetric only). */
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  /** When true, `typ` must be `at+jwt` (RFC 9068). */
  readonly requireAccessTokenType: boolean;
  /** Overrides the jwks_uri from discovery when set. */
  readonly jwksUri: string | null;
  readonly discoveryTimeoutMs: number;
  readonly jwksTimeoutMs: number;
  /** Minimum seconds between two JWKS refetches triggered by an unknown kid. */
  readonly jwksCooldownSeconds: number;
  /** Seconds after which a JWKS is refetched even when no unknown kid asks for it. */
  readonly jwksMaxAgeSeconds: number;
  /** Permits http:// issuers (development only; logged as a warning). */
  readonly allowInsecureHttp: boolean;
  /** The OAuth client Portcullis is at this provider, for browser login and introspection; null = bearer tokens only. */
  readonly clientId: string | null;
  readonly clientSecret: string | null;
  /** Scopes asked for at browser login. */
  readonly scopes: readonly string[];
  /** Absolute `/oauth2/callback` URL on the public origin; its origin is the login's own origin. */
  readonly redirectUri: string | null;
  /** Timeout of a refresh or introspection call made while a check waits. */
  readonly requestTimeoutMs: number;
  /** Timeout of the code exchange on the callback. */
  readonly codeExchangeTimeoutMs: number;
  readonly introspection: IntrospectionConfig;
  // The IdP's conventions, filled in by a `preset` or written by hand. The parser always outputs
  // them; absent in hand-built configs = the behaviour of a plain OIDC provider.
  /** The hosted-IdP preset the parser took defaults from; informational (its values are in the keys below). */
  readonly preset?: string | null;
  /** Auth0 preset: namespace of custom claims; informational once parsed. */
  readonly claimNamespace?: string | null;
  /** Claim paths of this provider's roles; null/absent = identity.roleClaims. */
  readonly roleClaims?: readonly string[] | null;
  /** Claim paths of this provider's groups; null/absent = identity.groupClaims. */
  readonly groupClaims?: readonly string[] | null;
  /** Extra authorization-request parameters (never the protocol's own). */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  /** Further `iss` values of this provider's tokens; `{tenantid}` = the token's `tid`. */
  readonly tokenIssuers?: readonly string[];
  /** With a `{tenantid}` issuer: the tenants accepted (or allowAnyTenant). */
  readonly allowedTenants?: readonly string[];
  readonly allowAnyTenant?: boolean;
  /** The bearer JWT claim checked against `audiences`; absent = `aud`. */
  readonly audienceClaim?: "aud" | "client_id";
  /** Claims a bearer JWT must carry with exactly these values (refuses ID tokens as access tokens). */
  readonly accessTokenClaims?: Readonly<Record<string, string>>;
  /** Access tokens Portcullis cannot check: sessions take identity from the ID token alone. */
  readonly opaqueAccessTokens?: boolean;
  /** How sign-out ends the IdP session; absent = `end_session`. */
  readonly logout?: ProviderLogoutConfig;
}

export type LogoutMethod = "end_session" | "auth0" | "cognito" | "local";

export interface ProviderLogoutConfig {
  readonly method: LogoutMethod;
  /** The IdP's logout endpoint; null = from discovery (or the method's own rule). */
  readonly url: string | null;
  /** RP-initiated logout sends the ID token as id_token_hint; else client_id + logout_hint only. Absent = false. */
  readonly idTokenHint?: boolean;
}

export interface IntrospectionConfig {
  /** Opaque (non-JWT) bearer tokens for this provider are introspected (RFC 7662). */
  readonly enabled: boolean;
  /** Overrides `introspection_endpoint` from discovery. */
  readonly endpoint: string | null;
  readonly authMethod: "client_secret_basic" | "client_secret_post";
  /** Longest time an introspection answer is trusted (never past the token's `exp`). */
  readonly cacheTtlSeconds: number;
  /** Introspect JWTs of this provider too instead of verifying them locally (revocation is seen at once). */
  readonly jwt: boolean;
  /** An active answer without one of the provider's audiences (absent `aud` included) is refused. */
  readonly requireAudience: boolean;
}

/** Where sessions live: `cookie` seals the whole session into cookies; `redis` keeps it in Redis, encrypted with a key only the browser's cookie holds. */
export type SessionStoreKind = "cookie" | "redis";

export interface SessionConfig {
  readonly store: SessionStoreKind;
  /** Secrets (>= 32 characters): the first seals, all unseal, so keys can be rotated. Empty = no browser login. */
  readonly keys: readonly string[];
  /** Session cookie name; `__Host-portcullis` without a domain, `portcullis` with one. */
  readonly cookieName: string;
  readonly cookieDomain: string | null;
  /** Absolute session lifetime, whatever the refresh token allows. */
  readonly lifetimeSeconds: number;
  /** Refresh the access token when it expires within this many seconds. */
  readonly refreshWindowSeconds: number;
  /** Lifetime of a pending login (the transaction cookie). */
  readonly loginTimeoutSeconds: number;
  /** Pending logins kept per browser (one cookie each); the oldest goes first. */
  readonly maxPendingLogins: number;
  /** Origins (besides the login's own) that return URLs and post-logout redirects may point to. */
  readonly allowedRedirectOrigins: readonly string[];
  /** Where the browser goes after sign-out (a path on the login origin or an allowed origin). */
  readonly postLogoutRedirect: string;
}

export interface RedisConfig {
  /** `redis://` or `rediss://` (TLS); null = no Redis (single replica: sessions in cookies, logouts known to this replica only). */
  readonly url: string | null;
  /** Redis Sentinel: the sentinels to ask for the master named `sentinelMaster` (then `url` only sets TLS and the database). */
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  readonly sentinelMaster: string | null;
  readonly username: string | null;
  readonly password: string | null;
  /** A PEM file of CA certificates for rediss:// (default: the system's). */
  readonly caFile: string | null;
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  readonly keyPrefix: string;
  readonly connectTimeoutMs: number;
  /** Each command; a slower answer counts as Redis being unavailable. */
  readonly commandTimeoutMs: number;
}

/** `required`: a valid credential is needed; `optional`: identify a caller who brings one, never challenge; `public`: everyone passes. */
export type RouteAuth = "required" | "optional" | "public";

/**
 * `rules`: the routes are the whole policy; no match = deny. `whitelist`: every request needs auth
 * except what the routes list (routes default to `auth: public`). `blacklist`: every request is
 * public except what the routes list (routes default to `auth: required`). See compileRoutes.ts.
 */
export type PolicyMode = "rules" | "whitelist" | "blacklist";

export interface PolicyConfig {
  readonly mode: PolicyMode;
  /** Request headers removed before the upstream unless a route forwards them; absent = DEFAULT_REMOVED_REQUEST_HEADERS. */
  readonly removeRequestHeaders?: readonly string[];
  /** Ambiguous path shapes let through (core/normalizePath.ts PATH_SHAPES); absent or empty = all refused. */
  readonly allowPathShapes?: readonly PathShape[];
}

export interface RouteMatchConfig {
  /** Exact host names or `*.suffix` wildcards, lower-case; empty = any host. */
  readonly hosts: readonly string[];
  /**
   * At most one of the four path forms is set (the parser outputs the others as null; hand-built
   * configs may leave them out); none = every path.
   * `path`: prefix on a segment boundary: `/api` matches `/api` and `/api/x`, never `/apix`.
   */
  readonly path: string | null;
  /** The whole normalised path, byte for byte. */
  readonly pathExact?: string | null;
  /** Whole-segment wildcards: `*` is one segment, `**` any number of segments. */
  readonly pathGlob?: string | null;
  /** A regular expression anchored with `^` and `$`, matched against the normalised path. */
  readonly pathRegex?: string | null;
  /** Upper-case method names; empty or absent = any method. `GET` covers `HEAD` too. */
  readonly methods?: readonly string[];
  /** Whether letter case counts in the path match; null or absent = case-insensitive unless the route is `auth: public`. */
  readonly caseSensitive?: boolean | null;
}

/** `roles: [a, b]` is `{ anyOf: [a, b], allOf: [] }`; when both lists are given both must pass. */
export interface NameSetRequirement {
  readonly anyOf: readonly string[];
  readonly allOf: readonly string[];
}

export type ClaimValue = string | number | boolean;

/** A tree of claim checks: `all` / `any` nodes over leaves with exactly one operator. */
export type ClaimCheckConfig =
  | { readonly all: readonly ClaimCheckConfig[] }
  | { readonly any: readonly ClaimCheckConfig[] }
  | { readonly claim: string; readonly equals: ClaimValue }
  | { readonly claim: string; readonly oneOf: readonly ClaimValue[] }
  | { readonly claim: string; readonly contains: ClaimValue }
  | { readonly claim: string; readonly exists: boolean };

/** What a caller must have on a route; every part that is set must pass. Empty lists / null = not required. */
export interface RequirementsConfig {
  /** Every one of these scopes (from `scope` or `scp`). */
  readonly scopes: readonly string[];
  /** Roles as the identity module reads them from `identity.roleClaims`. */
  readonly roles: NameSetRequirement | null;
  /** Names from the `groups` claim. */
  readonly groups: NameSetRequirement | null;
  /** The token's `aud` must include one of these. */
  readonly audiences: readonly string[];
  /** `client_id` (or `azp` when there is no `client_id`) must be one of these. */
  readonly clients: readonly string[];
  /** `user`: only person tokens; `client`: only machine tokens (see isMachinePrincipal). */
  readonly principal: "any" | "user" | "client";
  readonly claims: ClaimCheckConfig | null;
  /** Step-up: the `acr` must be one of these. */
  readonly acr: readonly string[];
  /** Step-up: every one of these must be in `amr`. */
  readonly amr: readonly string[];
  /** Step-up: most seconds since `auth_time`. */
  readonly maxAge: number | null;
}

export interface RouteConfig {
  readonly name: string;
  readonly match: RouteMatchConfig;
  /** null = the policy mode's default (whitelist: public, blacklist: required); rules mode requires it. */
  readonly auth: RouteAuth | null;
  /** Providers whose tokens this route accepts; browser login uses the first; empty = every configured provider. */
  readonly providers: readonly string[];
  /** Absent in hand-built configs = nothing required; the parser always outputs it. */
  readonly require?: RequirementsConfig;
  /** Names from policy.removeRequestHeaders this route lets through to its upstream; absent = none. */
  readonly forwardRequestHeaders?: readonly string[];
}

export interface IdentityConfig {
  readonly headers: {
    readonly sub: string;
    readonly email: string;
    readonly roles: string;
    readonly context: string;
    readonly clientId: string;
  };
  /** Dotted claim paths read for roles, in order, merged (e.g. `realm_access.roles`, `groups`). */
  readonly roleClaims: readonly string[];
  /** Dotted claim paths read for groups; absent in hand-built configs = `groups`. */
  readonly groupClaims?: readonly string[];
  /** Extra claim → header map: header name → dotted claim path. */
  readonly claimHeaders: Readonly<Record<string, string>>;
  readonly context: {
    readonly enabled: boolean;
    /** Field name in the context JSON → source: `sub`, `email`, `scopes`, `roles`, `exp`, or `claim:<path>`. */
    readonly fields: Readonly<Record<string, string>>;
  };
  /** Longest header value set; longer values are cut on a character boundary. */
  readonly maxHeaderBytes: number;
  /** Forward the client's Authorization header upstream (default false: it is removed). */
  readonly forwardAuthorization: boolean;
}

/** OpenTelemetry tracing: spans exported over OTLP/HTTP; off by default. */
export interface TracingConfig {
  readonly enabled: boolean;
  /** The OTLP/HTTP traces URL (`.../v1/traces`). */
  readonly endpoint: string;
  readonly serviceName: string;
  /** Share of traces started by Portcullis that are recorded; an incoming sampled flag is followed. */
  readonly sampleRatio: number;
  readonly exportTimeoutMs: number;
  /** Headers on every export (a collector's API key); secret values. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface PortcullisConfig {
  readonly listen: {
    readonly grpc: ListenAddress;
    readonly auth: ListenAddress;
    readonly admin: ListenAddress;
  };
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  readonly policy: PolicyConfig;
  readonly routes: readonly RouteConfig[];
  readonly identity: IdentityConfig;
  readonly session: SessionConfig;
  readonly redis: RedisConfig;
  readonly tokenCache: { readonly maxEntries: number };
  readonly shutdown: { readonly graceSeconds: number; readonly drainSeconds: number };
  readonly log: { readonly level: "debug" | "info" | "warn" | "error"; readonly audit: boolean };
  readonly tracing: TracingConfig;
}
