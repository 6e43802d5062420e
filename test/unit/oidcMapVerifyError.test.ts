import { describe, expect, it } from "vitest";
import { errors } from "jose";
import { BoundedFetchError } from "../../src/oidc/boundedFetch.ts";
import { isUnknownKeyError, mapVerifyError } from "../../src/oidc/mapVerifyError.ts";
import type { TokenErrorCode } from "../../src/errors/ErrorCode.ts";
import { VerifierFault } from "../../src/oidc/VerifierFault.ts";

const claimFailure = (claim: string, reason = "check_failed") =>
  new errors.JWTClaimValidationFailed("m", {}, claim, reason);

const cases: Array<[string, unknown, TokenErrorCode]> = [
  ["ERR_JWT_EXPIRED", new errors.JWTExpired("m", {}, "exp", "check_failed"), "token_expired"],
  ["nbf claim failure", claimFailure("nbf"), "token_not_yet_valid"],
  ["iss claim failure", claimFailure("iss"), "issuer_mismatch"],
  ["aud claim failure", claimFailure("aud"), "audience_mismatch"],
  ["aud claim missing", claimFailure("aud", "missing"), "audience_mismatch"],
  ["typ header failure", claimFailure("typ"), "type_not_allowed"],
  ["missing exp", claimFailure("exp", "missing"), "claims_invalid"],
  ["nbf of the wrong type", claimFailure("nbf", "invalid"), "claims_invalid"],
  ["another claim", claimFailure("sub"), "claims_invalid"],
  ["ERR_JOSE_ALG_NOT_ALLOWED", new errors.JOSEAlgNotAllowed("m"), "alg_not_allowed"],
  ["ERR_JWS_SIGNATURE_VERIFICATION_FAILED", new errors.JWSSignatureVerificationFailed(), "signature_invalid"],
  ["ERR_JWKS_NO_MATCHING_KEY", new errors.JWKSNoMatchingKey(), "key_not_found"],
  ["ERR_JWKS_MULTIPLE_MATCHING_KEYS", new errors.JWKSMultipleMatchingKeys(), "key_not_found"],
  ["ERR_JWKS_TIMEOUT", new errors.JWKSTimeout(), "jwks_unavailable"],
  ["ERR_JWKS_INVALID", new errors.JWKSInvalid("m"), "jwks_unavailable"],
  ["a failed JWKS download", new BoundedFetchError("GET x answered HTTP 503"), "jwks_unavailable"],
  ["ERR_JWS_INVALID", new errors.JWSInvalid("m"), "token_malformed"],
  ["ERR_JWT_INVALID", new errors.JWTInvalid("m"), "token_malformed"],
  ["an unrecognised crit extension", new errors.JOSENotSupported("m"), "token_malformed"],
];

describe("mapVerifyError", () => {
  for (const [name, err, code] of cases) {
    it(`maps ${name} to ${code}`, () => {
      expect(mapVerifyError(err).code).toBe(code);
    });
  }

  it("throws a VerifierFault keeping the cause for an error that is not a token failure", () => {
    const cause = new TypeError("boom");
    let thrown: unknown;
    try {
      mapVerifyError(cause);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VerifierFault);
    expect((thrown as VerifierFault).cause).toBe(cause);
  });

  it("throws a VerifierFault for a jose error code it does not know", () => {
    expect(() => mapVerifyError(new errors.JOSEError("generic"))).toThrow(VerifierFault);
    expect(() => mapVerifyError(new errors.JWEDecryptionFailed())).toThrow(VerifierFault);
  });
});

describe("isUnknownKeyError", () => {
  it("is true only for a key set with no key for the token, the one failure a refetch can cure", () => {
    expect(isUnknownKeyError(new errors.JWKSNoMatchingKey())).toBe(true);
    expect(isUnknownKeyError(new errors.JWKSMultipleMatchingKeys())).toBe(false);
    expect(isUnknownKeyError(new errors.JWSSignatureVerificationFailed())).toBe(false);
    expect(isUnknownKeyError(new BoundedFetchError("GET x answered HTTP 503"))).toBe(false);
    expect(isUnknownKeyError(new TypeError("boom"))).toBe(false);
  });
});
