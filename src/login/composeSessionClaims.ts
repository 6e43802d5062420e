// The claims a browser session carries for identity headers and route requirements: the ID token's
// identity (sub, email, acr, amr, auth_time), overlaid with the verified access token's claims
// (scope, roles, aud, exp). Protocol-only claims are dropped to keep the cookie small.

/**
 * What a refresh without a new ID token keeps from the session: who the person is and how they
 * signed in. Permissions (roles, groups, scope) come only from the new tokens, so a role the IdP
 * took away is gone at the next refresh.
 */
const SIGN_IN_FACTS = [
  "email",
  "email_verified",
  "name",
  "preferred_username",
  "given_name",
  "family_name",
  "acr",
  "amr",
  "auth_time",
];

/** Claims that only mean something inside the OIDC exchange itself. */
const ID_TOKEN_ONLY = new Set([
  "nonce",
  "at_hash",
  "c_hash",
  "s_hash",
  "sid",
  "jti",
  "iat",
  "nbf",
  "aud",
  "azp",
  "iss",
  "exp",
  "typ",
]);
const ACCESS_TOKEN_DROPPED = new Set(["jti", "iat", "nbf", "iss", "typ", "cnf"]);

export interface SessionClaimSources {
  readonly sub: string;
  readonly idTokenClaims: Readonly<Record<string, unknown>> | null;
  /** Claims of the access token when it verified as a bearer token of the provider; null otherwise. */
  readonly accessTokenClaims: Readonly<Record<string, unknown>> | null;
  /** The session's claims before a refresh: only its sign-in facts are kept, and only when no new ID token came. */
  readonly previous: Readonly<Record<string, unknown>> | null;
  /** `scope` from the token response, used when the access token does not state its scopes. */
  readonly scope: string | null;
  readonly accessTokenExpiresAt: number;
}

export function composeSessionClaims(sources: SessionClaimSources): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (sources.previous !== null && sources.idTokenClaims === null) {
    for (const name of SIGN_IN_FACTS) if (sources.previous[name] !== undefined) claims[name] = sources.previous[name];
  }
  if (sources.idTokenClaims !== null) {
    for (const [name, value] of Object.entries(sources.idTokenClaims))
      if (!ID_TOKEN_ONLY.has(name)) claims[name] = value;
  }
  if (sources.accessTokenClaims !== null) {
    for (const [name, value] of Object.entries(sources.accessTokenClaims)) {
      if (!ACCESS_TOKEN_DROPPED.has(name)) claims[name] = value;
    }
  }
  if (claims["scope"] === undefined && claims["scp"] === undefined && sources.scope !== null)
    claims["scope"] = sources.scope;
  // The person is the ID token's subject, whatever the access token says (some IdPs put a
  // pairwise or client subject there).
  claims["sub"] = sources.sub;
  claims["exp"] = sources.accessTokenExpiresAt;
  return claims;
}
