// Google: access tokens are opaque and Google offers no introspection, so sessions take identity from
// the ID token and bearer callers must present a Google ID token (aud = a configured audience); ID
// tokens may say `accounts.google.com` without the scheme. A refresh token comes only with
// `access_type=offline` and a consent prompt; there is no end-session endpoint.
import type { IdpPreset } from "./IdpPreset.ts";

export const googlePreset: IdpPreset = {
  name: "google",
  summary:
    "no roles or groups, opaque access tokens (identity from the ID token), `access_type=offline` + `prompt=consent`, also the scheme-less issuer, sign-out clears only Portcullis's session",
  values: ({ issuer }) => ({
    roleClaims: [],
    groupClaims: [],
    ...(issuer === undefined || !/^https?:\/\/./.test(issuer)
      ? {}
      : { tokenIssuers: [issuer.replace(/^https?:\/\//, "").replace(/\/$/, "")] }),
    opaqueAccessTokens: true,
    authorizationParams: { access_type: "offline", prompt: "consent" },
    logout: { method: "local" },
  }),
};
