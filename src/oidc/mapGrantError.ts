// The one place that reads openid-client errors from a token-endpoint grant (code exchange or
// refresh) and turns them into LoginErrors. Library messages and causes are not copied: they can
// carry the response body, i.e. tokens. Errors no IdP answer can explain are VerifierFaults.
import * as client from "openid-client";
import { describeError } from "../errors/describeError.ts";
import { LoginError, safeOAuthError } from "./LoginError.ts";
import { VerifierFault } from "./VerifierFault.ts";

/** @throws VerifierFault for errors that are bugs or misconfiguration rather than an IdP answer. */
export function mapGrantError(err: unknown): LoginError {
  if (err instanceof LoginError) return err;
  // A non-200 answer with an OAuth error body (RFC 6749 §5.2).
  if (err instanceof client.ResponseBodyError) {
    const idpError = safeOAuthError(err.error);
    if (err.status >= 500)
      return new LoginError("token_endpoint_unavailable", `token endpoint answered HTTP ${err.status}`, { idpError });
    if (err.error === "invalid_grant")
      return new LoginError("invalid_grant", `token endpoint refused the grant (HTTP ${err.status} invalid_grant)`, {
        idpError,
      });
    return new LoginError(
      "token_endpoint_error",
      `token endpoint answered HTTP ${err.status} ${idpError ?? "(unrecognised error)"}`,
      { idpError },
    );
  }
  // e.g. 401 invalid_client with a WWW-Authenticate challenge.
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const challenge = err.cause[0];
    const idpError = safeOAuthError(challenge?.parameters.error);
    return new LoginError(
      "token_endpoint_error",
      `token endpoint answered HTTP ${err.status} with a ${challenge?.scheme ?? "WWW-Authenticate"} challenge`,
      { idpError },
    );
  }
  if (err instanceof client.ClientError) {
    // Our fetch wrapper's own verdict, wrapped by openid-client as "something went wrong".
    if (err.cause instanceof LoginError) return err.cause;
    switch (err.code) {
      case "OAUTH_TIMEOUT":
      case "OAUTH_ABORT":
        return new LoginError(
          "token_endpoint_unavailable",
          `token endpoint call ${err.code === "OAUTH_TIMEOUT" ? "timed out" : "was aborted"}`,
        );
      // Claim checks openid-client makes beyond ours (auth_time against max_age).
      case "OAUTH_JWT_CLAIM_COMPARISON_FAILED":
      case "OAUTH_JWT_TIMESTAMP_CHECK_FAILED":
        return new LoginError("id_token_invalid", `ID token refused by openid-client (${err.code})`);
      case "OAUTH_HTTP_REQUEST_FORBIDDEN":
      case "OAUTH_REQUEST_PROTOCOL_FORBIDDEN":
        throw new VerifierFault(`token endpoint URL refused by openid-client (${err.code}); check allowInsecureHttp`);
      default:
        // Malformed answers: not JSON, no access_token, unsupported token_type, unexpected status.
        return new LoginError(
          "token_endpoint_error",
          `token endpoint answer refused by openid-client (${String(err.code ?? "no code")})`,
        );
    }
  }
  throw new VerifierFault(`unexpected error during a token-endpoint grant: ${describeError(err)}`);
}
