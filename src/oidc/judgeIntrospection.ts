// What an RFC 7662 answer means for the Check path: the same rules a JWT meets (string claims, issuer,
// audience, token type, time claims) applied to the provider's answer, and how long that outcome may
// be reused — never past `exp`, a denial at most the denial trust period.
import type { JWTPayload } from "jose";
import { deepFreeze } from "../config/deepFreeze.ts";
import type { TokenErrorCode } from "../errors/ErrorCode.ts";
import { checkAccessTokenType } from "./checkAccessTokenType.ts";
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import type { ClaimsProblem } from "./checkProviderClaims.ts";
import { checkTokenLimits } from "./checkTokenLimits.ts";
import { checkTimeClaims } from "./checkTimeClaims.ts";
import { compactShapeProblem } from "./compactJwt.ts";
import type { IssuerPolicy } from "./createIssuerPolicy.ts";
import { refuseNonAccessTokens, type TokenFormRules } from "./refuseNonAccessTokens.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

/** Code for `active: false`: revoked, expired or unknown to the provider. */
export const INACTIVE_TOKEN_CODE: TokenErrorCode = "token_inactive";

/** One provider's rules for its answers, prepared once. */
export interface IntrospectionRules {
  readonly provider: string;
  readonly audiences: ReadonlySet<string>;
  readonly requireAudience: boolean;
  readonly audienceClaim: "aud" | "client_id" | undefined;
  readonly issuers: IssuerPolicy;
  readonly formRules: TokenFormRules;
  readonly accessTokenClaims: Readonly<Record<string, string>> | undefined;
  readonly requireAccessTokenType: boolean;
  readonly toleranceSeconds: number;
  readonly tokenLimits: Pick<ProviderConfig, "maxTokenLifetimeSeconds" | "subjects">;
  /** How long (ms) an active answer is trusted, and a denial. */
  readonly trustMs: number;
  readonly denialTrustMs: number;
}

/** An outcome and until when (epoch ms) it may be reused. */
export interface IntrospectionVerdict {
  readonly outcome: VerifyOutcome;
  readonly until: number;
}

/** Claims that, when present, must be strings for requirements and headers to read them safely. */
const STRING_CLAIMS = ["sub", "client_id", "scope", "username", "token_type", "azp"] as const;

export function judgeIntrospection(
  rules: IntrospectionRules,
  answer: Record<string, unknown>,
  token: string,
  nowMs: number,
): IntrospectionVerdict {
  if (answer["active"] !== true)
    return denied(rules, { code: INACTIVE_TOKEN_CODE, detail: "the provider says the token is not active" }, nowMs);
  const problem =
    claimShapeProblem(answer) ??
    issuerProblem(rules, answer) ??
    audienceProblem(rules, answer) ??
    tokenTypeProblem(rules, answer, token) ??
    checkTokenLimits(rules.tokenLimits, answer);
  if (problem !== null) return denied(rules, problem, nowMs);
  return judgeTimes(rules, answer, nowMs);
}

function denied(
  rules: IntrospectionRules,
  problem: ClaimsProblem,
  nowMs: number,
  until = nowMs + rules.denialTrustMs,
): IntrospectionVerdict {
  return {
    outcome: { ok: false, code: problem.code, provider: rules.provider, detail: `introspection: ${problem.detail}` },
    until,
  };
}

function claimShapeProblem(answer: Record<string, unknown>): ClaimsProblem | null {
  for (const name of STRING_CLAIMS) {
    if (answer[name] !== undefined && typeof answer[name] !== "string")
      return { code: "claims_invalid", detail: `"${name}" must be a string` };
  }
  return null;
}

/** The same iss rule as a JWT's (aliases, tenant templates); RFC 7662 makes iss optional. */
function issuerProblem(rules: IntrospectionRules, answer: Record<string, unknown>): ClaimsProblem | null {
  const iss = answer["iss"];
  if (iss === undefined) return null;
  if (typeof iss !== "string") return { code: "claims_invalid", detail: `"iss" must be a string` };
  if (rules.issuers.check(answer) !== null)
    return { code: "issuer_mismatch", detail: `"iss" is not the provider's issuer` };
  return null;
}

function audienceProblem(rules: IntrospectionRules, answer: Record<string, unknown>): ClaimsProblem | null {
  const aud = answer["aud"];
  if (aud !== undefined) {
    const values = typeof aud === "string" ? [aud] : aud;
    if (!Array.isArray(values) || !values.every((value) => typeof value === "string")) {
      return { code: "claims_invalid", detail: `"aud" must be a string or an array of strings` };
    }
    if (!values.some((value) => rules.audiences.has(value)))
      return { code: "audience_mismatch", detail: `"aud" has none of the accepted audiences` };
  }
  if (!rules.requireAudience) return null;
  // Active only says the provider issued it: without our audience it may be another resource
  // server's token, replayed here by that server or anyone who saw it.
  if (rules.audienceClaim === "client_id") {
    const clientId = answer["client_id"];
    if (typeof clientId !== "string" || !rules.audiences.has(clientId))
      return { code: "audience_mismatch", detail: `"client_id" is none of the accepted audiences` };
  } else if (aud === undefined) {
    return {
      code: "audience_mismatch",
      detail: `the answer has no "aud": the token may be for another resource server (introspection.requireAudience)`,
    };
  }
  return null;
}

function tokenTypeProblem(
  rules: IntrospectionRules,
  answer: Record<string, unknown>,
  token: string,
): ClaimsProblem | null {
  const tokenType = answer["token_type"];
  // RFC 9449 §6.2: a DPoP-bound token's answer says token_type DPoP with its cnf.jkt; the token
  // binding then demands the proof of that key (and refuses the token sent as Bearer). DPoP without
  // a jkt binds to nothing that could be proven, and is refused here.
  const dpopBound = typeof tokenType === "string" && tokenType.toLowerCase() === "dpop" && hasJkt(answer["cnf"]);
  if (typeof tokenType === "string" && tokenType.toLowerCase() !== "bearer" && !dpopBound) {
    return {
      code: "type_not_allowed",
      detail: `token_type ${JSON.stringify(tokenType.slice(0, 40))} is not a bearer token`,
    };
  }
  const jwt = compactShapeProblem(token) === undefined;
  const headerTyp = jwt ? headerTypOf(token) : undefined;
  return (
    refuseNonAccessTokens(headerTyp, answer, rules.formRules) ??
    checkAccessTokenType(
      { accessTokenClaims: rules.accessTokenClaims, requireAccessTokenType: rules.requireAccessTokenType },
      { jwt, headerTyp },
      answer,
    )
  );
}

/** exp, nbf and iat of an otherwise accepted answer, and the reuse period they allow. */
function judgeTimes(rules: IntrospectionRules, answer: Record<string, unknown>, nowMs: number): IntrospectionVerdict {
  const tolerance = rules.toleranceSeconds;
  const nowSeconds = nowMs / 1000;
  const trustUntil = nowMs + rules.trustMs;
  // RFC 7662 makes exp optional; without one the answer stands for the trust period only.
  const exp = answer["exp"] ?? Math.floor(trustUntil / 1000);
  const timeProblem = checkTimeClaims({ ...answer, exp } as JWTPayload, nowSeconds, tolerance);
  if (timeProblem !== undefined) return denied(rules, timeProblem, nowMs);
  const expiresAt = exp as number; // checked by checkTimeClaims: a finite, sane NumericDate
  if (expiresAt <= nowSeconds - tolerance)
    return denied(rules, { code: "token_expired", detail: `"exp" has passed` }, nowMs);
  const nbf = answer["nbf"] as number | undefined;
  if (nbf !== undefined && nbf > nowSeconds + tolerance) {
    // Reusable only until the token becomes valid.
    const until = Math.min(nowMs + rules.denialTrustMs, (nbf - tolerance) * 1000);
    return denied(rules, { code: "token_not_yet_valid", detail: `"nbf" is in the future` }, nowMs, until);
  }
  return {
    outcome: {
      ok: true,
      provider: rules.provider,
      claims: deepFreeze({ ...answer }) as Readonly<JWTPayload>,
      expiresAt,
    },
    // Never past exp, even though the clock tolerance still accepts the token a little longer.
    until: Math.min(trustUntil, expiresAt * 1000),
  };
}

/** The JWS header's `typ` of a compact JWT (introspection.jwt); the provider vouched for the whole token. */
function headerTypOf(token: string): unknown {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8"));
    return typeof header === "object" && header !== null ? (header as Record<string, unknown>)["typ"] : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `cnf` is an object naming a key thumbprint (`jkt`, a string). */
function hasJkt(cnf: unknown): boolean {
  return typeof cnf === "object" && cnf !== null && typeof (cnf as Record<string, unknown>)["jkt"] === "string";
}
