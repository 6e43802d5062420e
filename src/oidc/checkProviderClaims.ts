// The provider-specific checks a bearer JWT's verified claims must pass after the signature and
// jose's claim checks (verifyCompactJws, validateJwtClaims): its `iss` by the provider's issuer policy (aliases, tenant templates), the claims
// that mark an access token (`typ: Bearer`, `token_use: access`), and `client_id` as the audience
// where the IdP puts no `aud` in access tokens (Cognito).
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import { checkAccessTokenType } from "./checkAccessTokenType.ts";
import type { IssuerPolicy } from "./createIssuerPolicy.ts";
import type { TokenErrorCode } from "../errors/ErrorCode.ts";

export interface ClaimsProblem {
  readonly code: TokenErrorCode;
  readonly detail: string;
}

export function checkProviderClaims(
  config: Pick<ProviderConfig, "audiences" | "audienceClaim" | "accessTokenClaims">,
  issuers: IssuerPolicy,
  claims: Readonly<Record<string, unknown>>,
): ClaimsProblem | null {
  const issuerProblem = issuers.check(claims);
  if (issuerProblem !== null) return { code: "issuer_mismatch", detail: issuerProblem };
  // typ: at+jwt is validateJwtClaims's check on this path (it reads the verified header).
  const typeProblem = checkAccessTokenType(
    { accessTokenClaims: config.accessTokenClaims, requireAccessTokenType: false },
    { jwt: true, headerTyp: undefined },
    claims,
  );
  if (typeProblem !== null) return typeProblem;
  if (config.audienceClaim === "client_id") {
    const clientId = claims["client_id"];
    if (typeof clientId !== "string" || !config.audiences.includes(clientId)) {
      return { code: "audience_mismatch", detail: "client_id is none of the provider's audiences" };
    }
  }
  return null;
}
