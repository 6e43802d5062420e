// Tells a machine's token (client_credentials) from a person's. The rule, in order:
//   1. no `sub` (absent, not a string, or empty) → machine;
//   2. `sub` equal to `client_id` or `azp` (Auth0, Okta, RFC 9068 client tokens) and none of the
//      person claims below present → machine;
//   3. otherwise → person.
// Limit: IdPs that give a service account a user-like `sub` (Keycloak service-account users) read
// as persons; restrict such routes with `require.clients` instead of `principal: client`.

/** Claims only a person's token carries; one of them keeps a `sub` == client id token a person's. */
const PERSON_CLAIMS = ["email", "preferred_username", "name", "given_name", "family_name", "nickname", "upn"] as const;

export function isMachinePrincipal(claims: Readonly<Record<string, unknown>>): boolean {
  const sub = Object.hasOwn(claims, "sub") ? claims["sub"] : undefined;
  if (typeof sub !== "string" || sub === "") return true;
  const clientId = Object.hasOwn(claims, "client_id") ? claims["client_id"] : undefined;
  const azp = Object.hasOwn(claims, "azp") ? claims["azp"] : undefined;
  if (sub !== clientId && sub !== azp) return false;
  return !PERSON_CLAIMS.some((name) => Object.hasOwn(claims, name));
}
