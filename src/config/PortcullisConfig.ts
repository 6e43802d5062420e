// The parsed, fully-defaulted, frozen configuration. `parseConfig` is the only producer; every
// other room reads this shape and never the YAML.

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
}

export interface SessionConfig {
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

export interface RouteConfig {
  readonly name: string;
  readonly match: {
    /** Exact host names or `*.suffix` wildcards, lower-case; empty = any host. */
    readonly hosts: readonly string[];
    /** Path prefix on a segment boundary: `/api` matches `/api` and `/api/x`, never `/apix`. */
    readonly path: string;
  };
  readonly auth: "required" | "public";
  /** Providers whose tokens this route accepts; empty = every configured provider. */
  readonly providers: readonly string[];
}

export interface IdentityConfig {
  readonly headers: {
    readonly sub: string;
    readonly email: string;
    readonly roles: string;
    readonly context: string;
  };
  /** Dotted claim paths read for roles, in order, merged (e.g. `realm_access.roles`, `groups`). */
  readonly roleClaims: readonly string[];
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

export interface PortcullisConfig {
  readonly listen: {
    readonly grpc: ListenAddress;
    readonly auth: ListenAddress;
    readonly admin: ListenAddress;
  };
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  readonly routes: readonly RouteConfig[];
  readonly identity: IdentityConfig;
  readonly session: SessionConfig;
  readonly tokenCache: { readonly maxEntries: number };
  readonly shutdown: { readonly graceSeconds: number };
  readonly log: { readonly level: "debug" | "info" | "warn" | "error" };
}
