// The login client's contract: what begin, complete, refresh and endSessionUrl take and give, and
// the options a client is made with (createLoginClient). Types only.
import type { JWTPayload, JWTVerifyGetKey } from "jose";
import type { Clock } from "../clock/Clock.ts";
import type { ProviderLogoutConfig } from "../config/PortcullisConfig.ts";
import type { IssuerPolicy } from "./createIssuerPolicy.ts";
import type { IdpCallObserver } from "./traceIdpCall.ts";

/**
 * One pending login as this client makes and completes it. The session room seals the same shape
 * into its cookie (src/session/LoginTransaction.ts); browser login (src/login) hands it across, so oidc needs
 * nothing from the session room.
 */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Absolute URL to return to after login, already allowed by the redirect policy. */
  returnTo: string;
  provider: string;
  /** Epoch seconds. */
  createdAt: number;
  acrValues?: string[];
  maxAge?: number;
  /** Incremental consent: the scopes this login added, which its tokens must grant. */
  scopes?: string[];
}

export interface LoginClientOptions {
  /** The provider's name in the config; recorded in (and required of) every transaction. */
  readonly providerName: string;
  readonly issuer: string;
  /** The provider's discovery document (its `issuer` must equal `issuer`). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The provider's signing keys, e.g. the registry's remote JWKS. */
  readonly keys: JWTVerifyGetKey;
  readonly clientId: string;
  /** null = public client: PKCE only, no client authentication. */
  readonly clientSecret: string | null;
  /** Absolute callback URL without query or fragment; sent verbatim in both requests. */
  readonly redirectUri: string;
  /** Must include `openid`. */
  readonly scopes: readonly string[];
  /** ID token signature algorithms accepted (asymmetric only); never taken from the token. */
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  /** Timeout of every call to the IdP (the code exchange; refreshes too unless refreshTimeoutMs). */
  readonly timeoutMs: number;
  /** Timeout of a refresh, which usually runs while a request waits; defaults to timeoutMs. */
  readonly refreshTimeoutMs?: number;
  readonly allowInsecureHttp: boolean;
  readonly fetch?: typeof fetch;
  /** Time for transactions, ID token checks, token expiry and the refresh memory; default: the system clock. */
  readonly clock?: Clock;
  /** Which `iss` the provider's ID tokens may carry (aliases, `{tenantid}` templates); default: exactly `issuer`. */
  readonly issuerPolicy?: IssuerPolicy;
  /** Extra authorization-request parameters (Auth0 `audience`, Google `access_type`); never the protocol's own. */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  /** How endSessionUrl ends the IdP's session; default: OIDC RP-initiated logout from discovery. */
  readonly logout?: ProviderLogoutConfig;
  /** Told how long each token endpoint call (code exchange, refresh) took and how it ended. */
  readonly observeIdpCall?: IdpCallObserver;
}

export interface BeginLoginInput {
  /** Absolute URL to return to after login, already allowed by the redirect policy. */
  readonly returnTo: string;
  readonly acrValues?: readonly string[];
  /** Seconds; the ID token must then carry an `auth_time` no older than this. */
  readonly maxAge?: number;
  readonly prompt?: string;
  /**
   * Incremental consent: scopes asked for beside the configured ones, `keep` (the session's) and
   * `add` (the transaction records these, for the callback to check).
   */
  readonly scopes?: { readonly add: readonly string[]; readonly keep: readonly string[] };
}

export interface BeganLogin {
  /** The authorization URL to redirect the browser to. */
  readonly url: string;
  /** To be sealed into the transaction cookie; holds the PKCE verifier, which never leaves it. */
  readonly transaction: LoginTransaction;
}

export interface LoginResult {
  /** Verified ID token claims. */
  readonly idTokenClaims: Readonly<JWTPayload>;
  readonly idToken: string;
  readonly accessToken: string;
  /** Epoch seconds: from expires_in, else the access token's own exp when it is a JWT, else now + 300. */
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | null;
  readonly scope: string | null;
}

export interface RefreshResult {
  /** Verified claims of the new ID token, or null when the IdP sent none. */
  readonly idTokenClaims: Readonly<JWTPayload> | null;
  readonly idToken: string | null;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  /** The rotated refresh token, or the one presented when the IdP did not rotate it. */
  readonly refreshToken: string;
  readonly scope: string | null;
}

export interface EndSessionInput {
  readonly idTokenHint: string | null;
  readonly postLogoutRedirectUri: string | null;
  readonly state?: string;
}

export interface LoginClient {
  begin(input: BeginLoginInput): Promise<BeganLogin>;
  /** @throws LoginError for every login failure; VerifierFault for bugs and misconfiguration. */
  complete(params: URLSearchParams, txn: LoginTransaction): Promise<LoginResult>;
  /**
   * Single-flight per refresh token; the outcome is remembered for REFRESH_MEMORY_MS.
   * @throws LoginError (invalid_grant ends the session; token_endpoint_unavailable may be retried)
   */
  refresh(refreshToken: string, expected: { readonly sub: string }): Promise<RefreshResult>;
  /** null when the provider has no end_session_endpoint. */
  endSessionUrl(input: EndSessionInput): string | null;
}
