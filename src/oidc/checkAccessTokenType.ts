// The provider's own access-token type rules, one definition for the JWT and the introspection
// paths: claims with exact values that mark its access tokens (Keycloak `typ: Bearer`, Cognito
// `token_use: access`) and, where configured, RFC 9068's `typ: at+jwt` JWS header. The header rule
// can only be read on a JWT: an opaque token's introspection answer has no header.
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import type { ClaimsProblem } from "./checkProviderClaims.ts";

export interface AccessTokenTypeRules {
  readonly accessTokenClaims?: ProviderConfig["accessTokenClaims"];
  /** Checked only when `jwt` is true (the JWT path leaves it to validateJwtClaims, jose's `typ` rule). */
  readonly requireAccessTokenType: boolean;
}

const quoted = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : typeof value;

/** null when the token is, by the provider's rules, one of its access tokens. */
export function checkAccessTokenType(
  rules: AccessTokenTypeRules,
  token: { readonly jwt: boolean; readonly headerTyp: unknown },
  claims: Readonly<Record<string, unknown>>,
): ClaimsProblem | null {
  if (rules.requireAccessTokenType && token.jwt) {
    const typ =
      typeof token.headerTyp === "string" ? token.headerTyp.toLowerCase().replace(/^application\//, "") : undefined;
    if (typ !== "at+jwt")
      return {
        code: "type_not_allowed",
        detail: `typ is ${token.headerTyp === undefined ? "missing" : quoted(token.headerTyp)}, not "at+jwt"`,
      };
  }
  for (const [name, expected] of Object.entries(rules.accessTokenClaims ?? {})) {
    const actual = Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (actual !== expected) {
      return {
        code: "claims_invalid",
        detail: `${name} is ${actual === undefined ? "missing" : quoted(actual)}, not ${JSON.stringify(expected)}: not an access token of this provider`,
      };
    }
  }
  return null;
}
