// The one error a browser login (callback or refresh) fails with, by stable `code` (its rows in the
// error registry). Messages and fields are log-safe: never a token, code, secret, verifier or state;
// `idpError` is the IdP's own OAuth error code, clipped and charset-checked so an error page may show
// it (escaped).
import type { LoginErrorCode } from "../errors/ErrorCode.ts";

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
