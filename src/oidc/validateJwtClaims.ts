// The claim checks jose's jwtVerify makes after the signature, for the options a bearer token is
// verified with, in jose's order and with its errors (the payload was read as a JSON object by
// readUnverifiedIssuer, as jose reads it): the header's `typ` when one is required, `aud` and `exp` present, `aud` names one of our audiences, `iat` and
// `nbf` numbers, `nbf` reached and `exp` not passed (both within the clock tolerance). Our own
// stricter time rules (finite, in range, `iat` not in the future) follow in checkTimeClaims.
import { errors, type JWTPayload } from "jose";

export interface JwtClaimRules {
  /** Accepted `aud` values; undefined when the audience is checked elsewhere (client_id). */
  readonly audiences: readonly string[] | undefined;
  /** A required header `typ` (`at+jwt` also matches `application/at+jwt`, in any case). */
  readonly typ: string | undefined;
  readonly toleranceSeconds: number;
  /** Whole seconds, as jose rounds its current date. */
  readonly nowSeconds: number;
}

export type ClaimsCheck =
  { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly error: errors.JOSEError };

const CHECK_FAILED = "check_failed";
const fail = (error: errors.JOSEError): ClaimsCheck => ({ ok: false, error });
// jose checks presence in this order: aud (when an audience is required), then exp.
const REQUIRED_WITH_AUDIENCE: readonly string[] = ["aud", "exp"];
const REQUIRED: readonly string[] = ["exp"];

const normalizeTyp = (value: string): string => {
  const lower = value.toLowerCase();
  return value.includes("/") ? lower : `application/${lower}`;
};

function audienceMatches(aud: unknown, audiences: readonly string[]): boolean {
  if (typeof aud === "string") return audiences.includes(aud);
  return Array.isArray(aud) && audiences.some((accepted) => aud.includes(accepted));
}

/** A present claim that is not a number, else undefined. */
function notANumber(claims: JWTPayload, name: "iat" | "nbf" | "exp"): errors.JOSEError | undefined {
  const value = claims[name];
  if (value === undefined || typeof value === "number") return undefined;
  return new errors.JWTClaimValidationFailed(`"${name}" claim must be a number`, claims, name, "invalid");
}

/** Runs on claims whose signature is verified; `header` is the token's protected header. */
export function validateJwtClaims(
  header: Readonly<Record<string, unknown>>,
  claims: JWTPayload,
  rules: JwtClaimRules,
): ClaimsCheck {
  const typ = header["typ"];
  if (rules.typ !== undefined && (typeof typ !== "string" || normalizeTyp(typ) !== normalizeTyp(rules.typ)))
    return fail(new errors.JWTClaimValidationFailed('unexpected "typ" JWT header value', claims, "typ", CHECK_FAILED));
  for (const name of rules.audiences === undefined ? REQUIRED : REQUIRED_WITH_AUDIENCE) {
    if (!Object.hasOwn(claims, name))
      return fail(new errors.JWTClaimValidationFailed(`missing required "${name}" claim`, claims, name, "missing"));
  }
  if (rules.audiences !== undefined && !audienceMatches(claims.aud, rules.audiences))
    return fail(new errors.JWTClaimValidationFailed('unexpected "aud" claim value', claims, "aud", CHECK_FAILED));
  const { nowSeconds: now, toleranceSeconds: tolerance } = rules;
  const typeProblem = notANumber(claims, "iat") ?? notANumber(claims, "nbf");
  if (typeProblem !== undefined) return fail(typeProblem);
  if (claims.nbf !== undefined && claims.nbf > now + tolerance)
    return fail(new errors.JWTClaimValidationFailed('"nbf" claim timestamp check failed', claims, "nbf", CHECK_FAILED));
  const expProblem = notANumber(claims, "exp");
  if (expProblem !== undefined) return fail(expProblem);
  if ((claims.exp as number) <= now - tolerance)
    return fail(new errors.JWTExpired('"exp" claim timestamp check failed', claims, "exp", CHECK_FAILED));
  return { ok: true, claims };
}
