// A bearer credential is accepted only in the form it was issued for: an access token. Refused here,
// on the JWT and the introspection paths alike: an ID token (`nonce`, `at_hash`, `c_hash`, an
// ID-token `typ`), and a logout or refresh token that happens to be signed by the same keys. A
// sender-constrained token (`cnf`) passes here and is cached with its `cnf`: its proof belongs to
// each request, so the gate checks it on every check (core/createTokenBinding.ts). With `audiences` holding the login
// client id (Entra: an access token for your own API has aud = client id) an ID token would
// otherwise pass every other check and its roles be used. Limits: an ID token with none of these
// markers is caught only by the provider's own type rules (`accessTokenClaims`,
// `requireAccessTokenType`), which check-config asks for in that configuration.
import type { ClaimsProblem } from "./checkProviderClaims.ts";

export interface TokenFormRules {
  /**
   * The provider's ID tokens are its bearer credential (Google, whose access tokens are opaque and
   * cannot be checked: `opaqueAccessTokens`); the ID-token markers are then expected, not refused.
   */
  readonly idTokensAreBearer: boolean;
}

/** Claims only an ID token carries (OIDC Core §2, §3.1.3.6, §3.3.2.11). */
const ID_TOKEN_CLAIMS = ["nonce", "at_hash", "c_hash"] as const;

/** Header `typ` values of JWTs that are not access tokens (lower case, without `application/`). */
const NON_ACCESS_HEADER_TYPES = new Set(["id_token", "id+jwt", "logout+jwt", "secevent+jwt"]);

/** Keycloak-style `typ` claim values of tokens that are not access tokens. */
const NON_ACCESS_CLAIM_TYPES = new Set(["id", "id_token", "refresh", "offline", "logout"]);

const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";

const mediaType = (value: string): string => value.toLowerCase().replace(/^application\//, "");

/**
 * null when the token may be an access token presented by its holder.
 * `headerTyp` is the JWS header's `typ` (undefined for an introspection answer of an opaque token).
 */
export function refuseNonAccessTokens(
  headerTyp: unknown,
  claims: Readonly<Record<string, unknown>>,
  rules: TokenFormRules,
): ClaimsProblem | null {
  if (typeof headerTyp === "string" && NON_ACCESS_HEADER_TYPES.has(mediaType(headerTyp))) {
    return { code: "type_not_allowed", detail: `typ ${JSON.stringify(headerTyp.slice(0, 40))} is not an access token` };
  }
  const events = claims["events"];
  if (typeof events === "object" && events !== null && Object.hasOwn(events, BACKCHANNEL_LOGOUT_EVENT)) {
    return { code: "type_not_allowed", detail: "a logout token is not an access token" };
  }
  const claimTyp = claims["typ"];
  if (typeof claimTyp === "string" && NON_ACCESS_CLAIM_TYPES.has(claimTyp.toLowerCase())) {
    return {
      code: "type_not_allowed",
      detail: `typ claim ${JSON.stringify(claimTyp.slice(0, 40))} is not an access token`,
    };
  }
  if (rules.idTokensAreBearer) return null;
  const marker = ID_TOKEN_CLAIMS.find((name) => Object.hasOwn(claims, name));
  if (marker !== undefined)
    return { code: "type_not_allowed", detail: `an ID token (it carries ${marker}) is not an access token` };
  return null;
}
