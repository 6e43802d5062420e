// Time-claim rules jose leaves to us: `exp`/`nbf`/`iat` must be finite numbers in a sane range
// (JSON like 1e400 parses to Infinity and would otherwise never expire), and `iat` may not be
// further in the future than the clock tolerance. Runs on claims whose signature is verified.
import type { JWTPayload } from "jose";
import type { MappedVerifyError } from "./mapVerifyError.ts";

/** 9999-12-31T23:59:59Z: later values are garbage, not policy. */
export const MAX_NUMERIC_DATE = 253_402_300_799;

export function checkTimeClaims(
  claims: JWTPayload,
  nowSeconds: number,
  toleranceSeconds: number,
): MappedVerifyError | undefined {
  for (const name of ["exp", "nbf", "iat"] as const) {
    const value: unknown = claims[name];
    if (value === undefined && name !== "exp") continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_NUMERIC_DATE) {
      return {
        code: "claims_invalid",
        detail: `"${name}" claim must be a finite NumericDate between 0 and ${MAX_NUMERIC_DATE}`,
      };
    }
  }
  if (claims.iat !== undefined && claims.iat > nowSeconds + toleranceSeconds) {
    return { code: "token_issued_in_future", detail: `"iat" claim is more than ${toleranceSeconds} s in the future` };
  }
  return undefined;
}
