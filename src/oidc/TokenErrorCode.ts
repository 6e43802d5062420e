// Stable codes for every way a bearer token can fail verification. `mapVerifyError` is the one
// place that turns jose/openid-client errors into these.

export type TokenErrorCode =
  | "token_malformed"
  | "token_expired"
  | "token_not_yet_valid"
  | "token_issued_in_future"
  | "signature_invalid"
  | "alg_not_allowed"
  | "key_not_found"
  | "issuer_mismatch"
  | "audience_mismatch"
  | "type_not_allowed"
  | "claims_invalid"
  | "token_inactive"
  | "jwks_unavailable";
