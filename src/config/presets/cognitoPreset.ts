// Amazon Cognito user pools: groups in `cognito:groups`; access tokens carry no `aud` but the app
// client's `client_id`, and say `token_use: access` (ID tokens say `id`); discovery has no
// end_session_endpoint: logout is the hosted UI's `/logout?client_id=…&logout_uri=…`.
import type { IdpPreset } from "./IdpPreset.ts";

export const cognitoPreset: IdpPreset = {
  name: "cognito",
  summary:
    "roles and groups from `cognito:groups`, audiences checked against `client_id`, bearer tokens must be `token_use: access`, hosted-UI `/logout`",
  values: () => ({
    roleClaims: ["cognito:groups"],
    groupClaims: ["cognito:groups"],
    audienceClaim: "client_id",
    accessTokenClaims: { token_use: "access" },
    logout: { method: "cognito" },
  }),
};
