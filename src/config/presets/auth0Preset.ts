// Auth0: roles and groups are custom claims an Action adds under a namespace of yours
// (`https://example.com/roles`); an access token is a JWT only when the authorization request names
// an API (`audience`), so the first configured audience is asked for. Logout is OIDC RP-initiated
// logout when the tenant advertises it, else Auth0's `/v2/logout`.
import type { IdpPreset } from "./IdpPreset.ts";

/** `https://example.com` + `roles` → `https://example.com/roles`; a namespace ending in `/` is kept as is. */
export function namespacedClaim(namespace: string, name: string): string {
  return namespace.endsWith("/") ? `${namespace}${name}` : `${namespace}/${name}`;
}

export const auth0Preset: IdpPreset = {
  name: "auth0",
  summary:
    "roles and groups from `<claimNamespace>roles` / `<claimNamespace>groups`, `audience` = the first of `audiences` at login, `offline_access`, `/v2/logout` when OIDC logout is off",
  values: ({ claimNamespace, audiences }) => ({
    ...(claimNamespace === undefined
      ? {}
      : {
          roleClaims: [namespacedClaim(claimNamespace, "roles")],
          groupClaims: [namespacedClaim(claimNamespace, "groups")],
        }),
    scopes: ["openid", "profile", "email", "offline_access"],
    ...(audiences?.[0] === undefined ? {} : { authorizationParams: { audience: audiences[0] } }),
    logout: { method: "auth0" },
  }),
};
