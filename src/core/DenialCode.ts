// The closed set of reasons a request is denied. Each code maps to exactly one HTTP status and is
// the `reason` metric label and the `error` field of a denial body; library text never leaks here.
import type { TokenErrorCode } from "../oidc/TokenErrorCode.ts";

export type DenialCode =
  | TokenErrorCode
  | "token_missing"
  | "login_required"
  | "session_invalid"
  | "insufficient_scope"
  | "requirement_failed"
  | "step_up_required"
  | "idp_unavailable"
  | "session_store_unavailable"
  | "path_invalid"
  | "host_invalid"
  | "route_not_found"
  | "internal_error";

export interface DenialSpec {
  readonly status: 302 | 400 | 401 | 403 | 503;
  /** RFC 6750 / RFC 9470 `error` value for WWW-Authenticate, when the denial carries one. */
  readonly bearerError?:
    "invalid_token" | "invalid_request" | "insufficient_scope" | "insufficient_user_authentication";
  /** What a client may read; the log holds the detail. */
  readonly description: string;
}

export const DENIALS: { readonly [C in DenialCode]: DenialSpec } = {
  token_missing: { status: 401, description: "a bearer token is required" },
  token_inactive: { status: 401, bearerError: "invalid_token", description: "the token is not active" },
  login_required: { status: 302, description: "sign-in is required; the browser is sent to the identity provider" },
  session_invalid: { status: 401, description: "the session has ended; sign in again" },
  insufficient_scope: {
    status: 403,
    bearerError: "insufficient_scope",
    description: "the token lacks a scope this route requires",
  },
  requirement_failed: {
    status: 403,
    bearerError: "insufficient_scope",
    description: "the caller does not meet this route's requirements",
  },
  step_up_required: {
    status: 401,
    bearerError: "insufficient_user_authentication",
    description: "a stronger or more recent authentication is required",
  },
  idp_unavailable: { status: 503, description: "the identity provider could not be reached" },
  session_store_unavailable: {
    status: 503,
    description: "sessions cannot be read right now; please try again shortly",
  },
  token_malformed: { status: 401, bearerError: "invalid_token", description: "the token is not a well-formed JWT" },
  token_expired: { status: 401, bearerError: "invalid_token", description: "the token has expired" },
  token_not_yet_valid: { status: 401, bearerError: "invalid_token", description: "the token is not valid yet" },
  token_issued_in_future: {
    status: 401,
    bearerError: "invalid_token",
    description: "the token was issued in the future",
  },
  signature_invalid: { status: 401, bearerError: "invalid_token", description: "the token signature is invalid" },
  alg_not_allowed: { status: 401, bearerError: "invalid_token", description: "the token algorithm is not allowed" },
  key_not_found: { status: 401, bearerError: "invalid_token", description: "the token was signed by an unknown key" },
  issuer_mismatch: { status: 401, bearerError: "invalid_token", description: "the token issuer is not accepted" },
  audience_mismatch: { status: 401, bearerError: "invalid_token", description: "the token audience is not accepted" },
  type_not_allowed: { status: 401, bearerError: "invalid_token", description: "the token type is not accepted" },
  claims_invalid: { status: 401, bearerError: "invalid_token", description: "the token claims are invalid" },
  jwks_unavailable: { status: 503, description: "the identity provider's keys are unavailable" },
  path_invalid: { status: 400, description: "the request path is not acceptable" },
  host_invalid: { status: 400, description: "the request's host is not acceptable" },
  route_not_found: { status: 403, description: "no route allows this request" },
  internal_error: { status: 503, description: "the request could not be authorized" },
};
