// The OAuth client a token was issued to: `client_id` (RFC 9068, RFC 7662), else `azp` (OpenID
// Connect, Keycloak, Azure AD v2). Both are the client's own id, never a user's.

export function clientIdOf(claims: Readonly<Record<string, unknown>>): string | null {
  const clientId = Object.hasOwn(claims, "client_id") ? claims["client_id"] : undefined;
  if (typeof clientId === "string" && clientId !== "") return clientId;
  const azp = Object.hasOwn(claims, "azp") ? claims["azp"] : undefined;
  return typeof azp === "string" && azp !== "" ? azp : null;
}
