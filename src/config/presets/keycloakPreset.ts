// Keycloak: realm roles in `realm_access.roles`, a client's roles in `resource_access.<client>.roles`,
// groups in `groups` (with a group-membership mapper). Every Keycloak token says what it is in its
// `typ` claim (`Bearer`, `ID`, `Refresh`), so only `Bearer` is taken as an access token. Its logout
// ignores `logout_hint` and asks the user to confirm unless it gets `id_token_hint`, so it gets one.
import type { IdpPreset } from "./IdpPreset.ts";

export const keycloakPreset: IdpPreset = {
  name: "keycloak",
  summary:
    "roles from `realm_access.roles` and `resource_access.<clientId>.roles`, groups from `groups`, bearer tokens must be `typ: Bearer`, RP-initiated logout",
  values: ({ clientId }) => ({
    roleClaims: ["realm_access.roles", ...(clientId === undefined ? [] : [`resource_access.${clientId}.roles`])],
    groupClaims: ["groups"],
    accessTokenClaims: { typ: "Bearer" },
    logout: { method: "end_session", idTokenHint: true },
  }),
};
