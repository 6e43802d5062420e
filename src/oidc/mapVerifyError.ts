// The one place that reads jose errors (and our IdP fetch errors) and turns them into stable
// TokenErrorCodes. An error no token can explain is not a denial reason: it is thrown on as a
// VerifierFault so the gate denies with internal_error and logs it, instead of hiding a bug.
import { errors } from "jose";
import { describeError } from "../errors/describeError.ts";
import { BoundedFetchError } from "./boundedFetch.ts";
import type { TokenErrorCode } from "../errors/ErrorCode.ts";
import { VerifierFault } from "./VerifierFault.ts";

export interface MappedVerifyError {
  readonly code: TokenErrorCode;
  /** Log-safe: jose messages name the failed check, never the token or claim values. */
  readonly detail: string;
}

/** @throws VerifierFault for any error that is not a recognised token or key-set failure. */
export function mapVerifyError(err: unknown): MappedVerifyError {
  // The registry does every JWKS download outside jwtVerify; should jose ever fetch inside it, a
  // failed IdP fetch there means no keys.
  if (err instanceof BoundedFetchError) return { code: "jwks_unavailable", detail: err.message };
  if (!(err instanceof errors.JOSEError)) {
    throw new VerifierFault(`unexpected error during token verification: ${describeError(err)}`, { cause: err });
  }
  const detail = `${err.code}: ${err.message}`;
  switch (err.code) {
    case "ERR_JWT_EXPIRED":
      return { code: "token_expired", detail };
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const { claim, reason } = err as errors.JWTClaimValidationFailed;
      const byClaim = claimCode(claim, reason);
      return { code: byClaim, detail };
    }
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return { code: "alg_not_allowed", detail };
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return { code: "signature_invalid", detail };
    case "ERR_JWKS_NO_MATCHING_KEY":
      return { code: "key_not_found", detail };
    // A kid-less token that several keys could verify: we do not try each key in turn.
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return { code: "key_not_found", detail };
    // One member the token names cannot be used (readKeySet skips the ones it can tell): that key
    // verifies nothing, so the token is refused (401) rather than the IdP declared down (503),
    // which anyone could trigger by naming the member's kid.
    case "ERR_JWK_INVALID":
      return { code: "key_not_found", detail };
    case "ERR_JWKS_TIMEOUT":
    // The IdP served a key set that cannot be used at all: its keys are unavailable to us.
    case "ERR_JWKS_INVALID":
      return { code: "jwks_unavailable", detail };
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    // Raised for a `crit` header naming an extension we do not understand (RFC 7515 §4.1.11).
    case "ERR_JOSE_NOT_SUPPORTED":
      return { code: "token_malformed", detail };
    default:
      throw new VerifierFault(`unexpected jose error during token verification: ${detail}`, { cause: err });
  }
}

/**
 * The key set has no key for the token's kid (or alg): the one failure a fresh key set could cure,
 * so the registry may refetch before answering key_not_found.
 */
export function isUnknownKeyError(err: unknown): boolean {
  return err instanceof errors.JOSEError && err.code === "ERR_JWKS_NO_MATCHING_KEY";
}

function claimCode(claim: string, reason: string): TokenErrorCode {
  // A claim that is present but of the wrong type is a malformed claim set, not a mismatch.
  if (reason === "invalid") return "claims_invalid";
  switch (claim) {
    case "nbf":
      return "token_not_yet_valid";
    case "iss":
      return "issuer_mismatch";
    case "aud":
      return "audience_mismatch";
    case "typ":
      return "type_not_allowed";
    default:
      return "claims_invalid";
  }
}

/** A log-safe line for a failed discovery or key-set load, for status() and the start-up log. */
export function describeLoadError(err: unknown): string {
  if (err instanceof BoundedFetchError) return err.message;
  if (err instanceof errors.JOSEError) return `${err.code}: ${err.message}`;
  return `unexpected error: ${describeError(err)}`;
}
