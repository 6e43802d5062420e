// A provider's limits on the verified tokens it accepts: the longest lifetime a token may have been
// issued with (`maxTokenLifetimeSeconds`: `exp` − `iat`, OAuth 2.1's short-lived tokens) and the
// subjects it may name (`subjects`). Fails closed: with a lifetime limit, a token that does not say
// when it was issued or when it expires is refused. Runs on claims whose signature is verified.
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import type { ClaimsProblem } from "./checkProviderClaims.ts";

export function checkTokenLimits(
  config: Pick<ProviderConfig, "maxTokenLifetimeSeconds" | "subjects">,
  claims: Readonly<Record<string, unknown>>,
): ClaimsProblem | null {
  const maxLifetime = config.maxTokenLifetimeSeconds ?? null;
  if (maxLifetime !== null) {
    const { iat, exp } = claims;
    if (typeof iat !== "number" || typeof exp !== "number")
      return {
        code: "token_lifetime_too_long",
        detail: `token lacks "iat" or "exp", so its lifetime cannot be held to ${maxLifetime} s`,
      };
    if (exp - iat > maxLifetime)
      return {
        code: "token_lifetime_too_long",
        detail: `token lifetime ${Math.round(exp - iat)} s exceeds the provider's maxTokenLifetimeSeconds ${maxLifetime}`,
      };
  }
  const subjects = config.subjects ?? null;
  if (subjects !== null) {
    const sub = claims["sub"];
    // The subject comes from a verified token but may be anything: never written into the detail.
    if (typeof sub !== "string" || !subjects.includes(sub))
      return { code: "subject_not_allowed", detail: "token sub is not one of the provider's subjects" };
  }
  return null;
}
