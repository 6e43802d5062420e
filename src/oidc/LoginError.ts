// The one error a browser login (callback or refresh) fails with, by stable `code`. Messages and
// fields are log-safe: never a token, code, secret, verifier or state; `idpError` is the IdP's own
// OAuth error code, clipped and charset-checked so an error page may show it (escaped).

export type LoginErrorCode =
  /** The callback's `state` is missing or is not the transaction's; nothing was sent to the IdP. */
  | "state_mismatch"
  /** The IdP answered the authorization request with `error=` (see `idpError`), or with no code. */
  | "idp_error"
  /** RFC 9207: the provider advertises `iss` in authorization responses and it is missing or wrong. */
  | "response_issuer_mismatch"
  /** The ID token failed a check: signature, algorithm allowlist, iss, aud, azp, exp, iat, auth_time. */
  | "id_token_invalid"
  | "nonce_mismatch"
  /** The token endpoint refused the code or refresh token (used, expired, revoked). */
  | "invalid_grant"
  /** Any other refusal or malformed answer from the token endpoint (e.g. invalid_client). */
  | "token_endpoint_error"
  /** The IdP could not be reached in time: network error, timeout or 5xx (also its signing keys). */
  | "token_endpoint_unavailable"
  /** A refresh returned an ID token for another subject or issuer: the session must end. */
  | "subject_changed";

export const LOGIN_ERROR_CODES: readonly LoginErrorCode[] = [
  "state_mismatch",
  "idp_error",
  "response_issuer_mismatch",
  "id_token_invalid",
  "nonce_mismatch",
  "invalid_grant",
  "token_endpoint_error",
  "token_endpoint_unavailable",
  "subject_changed",
];

export class LoginError extends Error {
  readonly code: LoginErrorCode;
  /** The IdP's OAuth `error` value (authorization or token endpoint) when safe to show, else null. */
  readonly idpError: string | null;

  constructor(code: LoginErrorCode, message: string, options: { idpError?: string | null } = {}) {
    // No `cause`: library errors carry response bodies (tokens) and would reach the log with it.
    super(message);
    this.name = "LoginError";
    this.code = code;
    this.idpError = options.idpError ?? null;
  }
}

/** RFC 6749 error codes are short ASCII words; anything else from the IdP is not repeated. */
const SAFE_OAUTH_ERROR = /^[A-Za-z0-9_.-]+$/;
const MAX_OAUTH_ERROR_LENGTH = 64;

/** The IdP's `error` value made safe for logs and an error page, or null when it is not a plain code. */
export function safeOAuthError(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const clipped = value.slice(0, MAX_OAUTH_ERROR_LENGTH);
  return SAFE_OAUTH_ERROR.test(clipped) ? clipped : null;
}
