// When an access token from a code exchange or refresh expires, for scheduling the session's refresh.
import { decodeJwt } from "jose";
import { MAX_NUMERIC_DATE } from "./checkTimeClaims.ts";

/** When the IdP says nothing about the access token's lifetime. */
const DEFAULT_ACCESS_TOKEN_SECONDS = 300;

/** Epoch seconds, counted from when the request was sent (the conservative end). */
export function accessTokenExpiry(accessToken: string, expiresIn: number | undefined, sentAt: number): number {
  if (typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn >= 0) {
    return Math.min(sentAt + Math.floor(expiresIn), MAX_NUMERIC_DATE);
  }
  try {
    // Unverified on purpose: the access token is for APIs; its exp only schedules our refresh.
    const exp = decodeJwt(accessToken).exp;
    if (typeof exp === "number" && Number.isFinite(exp) && exp > 0 && exp <= MAX_NUMERIC_DATE) return Math.floor(exp);
  } catch {
    // Not a JWT: opaque access tokens are common.
  }
  return sentAt + DEFAULT_ACCESS_TOKEN_SECONDS;
}
