// Verifies an OpenID Connect Back-Channel Logout 1.0 logout token (section 2.6): the signature with
// the provider's keys and our algorithm allowlist, then iss, aud (our client), iat (and exp when
// present), jti, the back-channel logout event, sid and/or sub, no nonce, and an explicit `typ`
// that is not another token type. Every rejection is a value with a log-safe reason.
import { decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { CodeOn } from "../errors/ErrorCode.ts";
import { checkTimeClaims, MAX_NUMERIC_DATE } from "./checkTimeClaims.ts";
import { mapVerifyError } from "./mapVerifyError.ts";

export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

export interface LogoutTokenExpectations {
  readonly keys: JWTVerifyGetKey;
  readonly issuer: string;
  readonly clientId: string;
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly nowMs: number;
  /** A logout token older than this (by `iat`) is refused: it was delivered far too late, or replayed after its jti was forgotten. */
  readonly maxAgeSeconds: number;
}

export interface LogoutClaims {
  readonly iss: string;
  readonly jti: string;
  readonly iat: number;
  readonly sid: string | null;
  readonly sub: string | null;
}

export type LogoutTokenOutcome =
  | { readonly ok: true; readonly claims: LogoutClaims }
  /** `logout_unavailable`: the provider's keys could not be fetched; the IdP may retry later. */
  | { readonly ok: false; readonly code: LogoutTokenErrorCode; readonly detail: string };

/** The back-channel logout codes a logout token itself can earn (the request's shape is checked before). */
export type LogoutTokenErrorCode = Exclude<CodeOn<"backchannel_logout">, "logout_request_invalid">;

// `JWT` is what most IdPs put in every token; `logout+jwt` is the explicit type the spec recommends.
const ACCEPTED_TYP = new Set(["jwt", "logout+jwt", "application/logout+jwt", "application/jwt"]);
const MAX_ID_LENGTH = 1024;

export async function verifyLogoutToken(token: string, expect: LogoutTokenExpectations): Promise<LogoutTokenOutcome> {
  const invalid = (detail: string): LogoutTokenOutcome => ({ ok: false, code: "logout_token_invalid", detail });
  let typ: unknown;
  try {
    typ = decodeProtectedHeader(token).typ;
  } catch {
    return invalid("not a compact JWS");
  }
  // An access or ID token with an explicit other type (at+jwt, …) must never pass as a logout.
  if (typ !== undefined && (typeof typ !== "string" || !ACCEPTED_TYP.has(typ.toLowerCase()))) {
    return invalid("typ is not logout+jwt");
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, expect.keys, {
      algorithms: [...expect.algorithms],
      issuer: expect.issuer,
      audience: expect.clientId,
      clockTolerance: expect.clockToleranceSeconds,
      currentDate: new Date(expect.nowMs),
      requiredClaims: ["iss", "aud", "iat", "jti"],
    }));
  } catch (err) {
    const mapped = mapVerifyError(err);
    if (mapped.code === "jwks_unavailable") return { ok: false, code: "logout_unavailable", detail: mapped.detail };
    return invalid(`${mapped.code}: ${mapped.detail}`);
  }
  const nowSeconds = expect.nowMs / 1000;
  // exp is optional in logout tokens (jose checked it when present); iat and nbf get the usual sanity rules.
  const timeProblem = checkTimeClaims(
    { ...payload, exp: payload.exp ?? MAX_NUMERIC_DATE },
    nowSeconds,
    expect.clockToleranceSeconds,
  );
  if (timeProblem) return invalid(`${timeProblem.code}: ${timeProblem.detail}`);
  const iat = payload.iat as number;
  if (iat < nowSeconds - expect.maxAgeSeconds - expect.clockToleranceSeconds)
    return invalid(`iat is more than ${expect.maxAgeSeconds} s old`);
  // OIDC Core's azp rule: several audiences need an azp, and an azp present must be us.
  const several = Array.isArray(payload.aud) && payload.aud.length > 1;
  if ((several || payload["azp"] !== undefined) && payload["azp"] !== expect.clientId)
    return invalid("azp is not the client");
  if (!isId(payload.jti)) return invalid("jti is missing or not a string");
  const events = payload["events"];
  if (!isRecord(events) || !isRecord(events[BACKCHANNEL_LOGOUT_EVENT]))
    return invalid("events has no back-channel logout event");
  // A nonce would make it confusable with an ID token (spec 2.4: it MUST NOT be there).
  if (payload["nonce"] !== undefined) return invalid("a logout token must not contain a nonce");
  const sid = payload["sid"];
  const sub = payload.sub;
  if (sid !== undefined && !isId(sid)) return invalid("sid is not a string");
  if (sub !== undefined && !isId(sub)) return invalid("sub is not a string");
  if (sid === undefined && sub === undefined) return invalid("neither sid nor sub is present");
  return {
    ok: true,
    claims: {
      iss: payload.iss as string,
      jti: payload.jti,
      iat,
      sid: typeof sid === "string" ? sid : null,
      sub: typeof sub === "string" ? sub : null,
    },
  };
}

function isId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
