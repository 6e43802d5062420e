// Okta: no roles of its own; group membership (a `groups` claim defined on the authorization server)
// is what apps authorise on, so groups are also the roles. Refresh tokens need `offline_access`.
// Okta's /v1/logout requires `id_token_hint`.
import type { IdpPreset } from "./IdpPreset.ts";

export const oktaPreset: IdpPreset = {
  name: "okta",
  summary: "roles and groups from `groups`, `offline_access`, RP-initiated logout",
  values: () => ({
    roleClaims: ["groups"],
    groupClaims: ["groups"],
    scopes: ["openid", "profile", "email", "offline_access"],
    logout: { method: "end_session", idTokenHint: true },
  }),
};
