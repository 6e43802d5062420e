// Verifies an ID token from the token endpoint with the provider's keys: signature first (jose, the
// algorithm from our allowlist, never from the token), then iss, aud, azp, exp/iat sanity and the
// nonce. openid-client v6 checks claims but not the signature of token-endpoint ID tokens: this does.
import { createHash, timingSafeEqual } from "node:crypto";
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { checkTimeClaims } from "./checkTimeClaims.ts";
import type { IssuerPolicy } from "./createIssuerPolicy.ts";
import type { LoginErrorCode } from "../errors/ErrorCode.ts";
import { LoginError } from "./LoginError.ts";
import { mapVerifyError } from "./mapVerifyError.ts";

export interface IdTokenExpectations {
  readonly keys: JWTVerifyGetKey;
  readonly issuer: string;
  /** Decides `iss` instead of equality with `issuer` when set (token issuer aliases, tenant templates). */
  readonly issuerPolicy?: IssuerPolicy;
  readonly clientId: string;
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly nowMs: number;
  /** The transaction's nonce on login; undefined on refresh (OIDC Core 12.2 leaves it to the IdP). */
  readonly nonce: string | undefined;
  /** On refresh a token from another issuer means another identity: subject_changed. */
  readonly issuerMismatch: Extract<LoginErrorCode, "id_token_invalid" | "subject_changed">;
}

/** @throws LoginError (id_token_invalid, nonce_mismatch, subject_changed, token_endpoint_unavailable) */
export async function verifyIdToken(idToken: string, expect: IdTokenExpectations): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, expect.keys, {
      algorithms: [...expect.algorithms],
      audience: expect.clientId,
      clockTolerance: expect.clockToleranceSeconds,
      currentDate: new Date(expect.nowMs),
      requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
    }));
  } catch (err) {
    // mapVerifyError is the one reader of jose errors; it throws VerifierFault for anything else.
    const mapped = mapVerifyError(err);
    if (mapped.code === "jwks_unavailable") {
      throw new LoginError("token_endpoint_unavailable", `the IdP's signing keys are unavailable: ${mapped.detail}`);
    }
    throw new LoginError("id_token_invalid", `ID token ${mapped.code}: ${mapped.detail}`);
  }
  // The issuer is compared here rather than by jose so that a refresh can call it subject_changed.
  if (expect.issuerPolicy === undefined ? payload.iss !== expect.issuer : expect.issuerPolicy.check(payload) !== null) {
    const why = expect.issuerPolicy?.check(payload);
    throw new LoginError(expect.issuerMismatch, `ID token iss is not the provider's issuer${why ? ` (${why})` : ""}`);
  }
  if (typeof payload.sub !== "string" || payload.sub.length === 0) {
    throw new LoginError("id_token_invalid", "ID token sub is not a non-empty string");
  }
  // OIDC Core 3.1.3.7: several audiences need an azp, and an azp present must be us.
  const several = Array.isArray(payload.aud) && payload.aud.length > 1;
  if ((several || payload["azp"] !== undefined) && payload["azp"] !== expect.clientId) {
    throw new LoginError(
      "id_token_invalid",
      several ? "ID token has several audiences and azp is not the client" : "ID token azp is not the client",
    );
  }
  const timeProblem = checkTimeClaims(payload, expect.nowMs / 1000, expect.clockToleranceSeconds);
  if (timeProblem) throw new LoginError("id_token_invalid", `ID token ${timeProblem.code}: ${timeProblem.detail}`);
  if (typeof payload.iat !== "number") throw new LoginError("id_token_invalid", "ID token iat is not a number");
  if (expect.nonce !== undefined && !sameSecret(payload["nonce"], expect.nonce)) {
    throw new LoginError("nonce_mismatch", "ID token nonce is not the transaction's");
  }
  return payload;
}

/** Constant-time equality of a received value and an expected secret (state, nonce). */
export function sameSecret(received: unknown, expected: string): boolean {
  if (typeof received !== "string") return false;
  // Hashing first gives equal lengths, so timingSafeEqual reveals nothing about either length.
  const a = createHash("sha256").update(received).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
