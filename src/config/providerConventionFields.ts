// The provider keys that describe an IdP's conventions (where roles and groups are, extra login
// parameters, token issuers and tenants, audience claim, token kind, logout) and the `preset` that
// fills them in for a hosted IdP. configSchema.ts places them in the provider; presets/ fills them.
import type { ListNode, MapNode, ObjectNode, SchemaNode, StringNode } from "./configSchema.ts";
import { claimPath, httpUrl, nonBlank } from "./configFormats.ts";
import { PRESET_NAMES } from "./presets/presetRegistry.ts";

/** Authorization-request parameters Portcullis itself sets; a provider may not override them. */
export const RESERVED_AUTHORIZATION_PARAMS: readonly string[] = [
  "client_id",
  "redirect_uri",
  "response_type",
  "response_mode",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
  "request",
  "request_uri",
];

const claimPaths = (what: string, global: string) =>
  ({
    typeOptional: true,
    kind: "list",
    items: { kind: "string", format: claimPath, description: "A claim path." },
    unique: true,
    nullable: true,
    default: null,
    description: `Claim paths read for this provider's ${what}, in order, merged; null = the preset's, else \`${global}\`. [] = none.`,
  }) as const satisfies ListNode;

const stringMap = (keyLabel: string, keyPattern: RegExp, description: string) =>
  ({
    typeOptional: true,
    kind: "map",
    keyLabel,
    keyPattern,
    values: { kind: "string", description: "Its value." },
    default: {},
    description,
  }) as const satisfies MapNode;

const names = (what: string, description: string) =>
  ({
    typeOptional: true,
    kind: "list",
    items: { kind: "string", format: nonBlank, description: `A ${what}.` },
    unique: true,
    default: [],
    description,
  }) as const satisfies ListNode;

const preset = {
  kind: "string",
  typeOptional: true,
  enum: PRESET_NAMES,
  nullable: true,
  default: null,
  description:
    "Fills in a hosted IdP's conventions (roles and groups claims, login parameters, token quirks, logout): see docs/idps/. Every key you write on the provider wins over the preset's value for it (inside `logout`, field by field). null = none.",
} as const satisfies StringNode;

const logout = {
  kind: "object",
  typeOptional: true,
  description: "How `/oauth2/sign_out` ends the session at the IdP (Portcullis's own session always ends).",
  fields: {
    method: {
      kind: "string",
      enum: ["end_session", "auth0", "cognito", "local"],
      default: "end_session",
      description:
        "`end_session`: OIDC RP-initiated logout at the discovery's `end_session_endpoint` (none advertised: as `local`). `auth0`: the same when the tenant advertises it, else Auth0's `/v2/logout?client_id=…&returnTo=…`. `cognito`: the hosted UI's `/logout?client_id=…&logout_uri=…`. `local`: Portcullis's session only (the IdP's own session stays).",
    },
    url: {
      kind: "string",
      format: httpUrl,
      nullable: true,
      default: null,
      description:
        "The IdP's logout endpoint instead of `end_session_endpoint` (`end_session`); for `auth0`, the `/v2/logout` URL used when the tenant advertises no end_session_endpoint (null = `<issuer>v2/logout`); for `cognito`, the hosted UI's `/logout` (null = on the domain of `authorization_endpoint`).",
    },
    idTokenHint: {
      kind: "boolean",
      typeOptional: true,
      default: false,
      description:
        "RP-initiated logout sends the session's ID token as `id_token_hint`. false: the ID token stays out of the URL (browser history, IdP and proxy logs); the redirect names `client_id` and a `logout_hint` (the ID token's `login_hint` claim, else its `sid`), and an IdP that needs the ID token to skip its own confirmation asks the user. true where the IdP requires it (preset `okta`) or would otherwise ask (preset `keycloak`): see docs/idps/.",
    },
  },
} as const satisfies ObjectNode;

/** Placed right after `issuer`. */
export const providerPresetFields = {
  preset,
  claimNamespace: {
    kind: "string",
    typeOptional: true,
    format: nonBlank,
    nullable: true,
    default: null,
    description:
      "With `preset: auth0`: the namespace your Auth0 Action writes custom claims under (e.g. `https://example.com/`): roles from `<claimNamespace>roles`, groups from `<claimNamespace>groups`.",
  },
} as const satisfies Record<string, SchemaNode>;

/** Placed at the end of the provider. */
export const providerConventionFields = {
  roleClaims: claimPaths("roles (the roles header, `require.roles`)", "identity.roleClaims"),
  groupClaims: claimPaths("groups (`require.groups`)", "identity.groupClaims"),
  authorizationParams: stringMap(
    "<param>",
    /^[A-Za-z0-9_.-]{1,64}$/,
    `Extra parameters of the login's authorization request (Auth0 \`audience\`, Google \`access_type\`). Not ${RESERVED_AUTHORIZATION_PARAMS.map((p) => `\`${p}\``).join(", ")}; a step-up's \`acr_values\`, \`max_age\` and \`prompt\` replace these.`,
  ),
  tokenIssuers: names(
    "token issuer",
    "Other `iss` values this provider's tokens may carry, signed by the same keys (Entra v1 `https://sts.windows.net/<tenant>/`, Google `accounts.google.com`). `{tenantid}` stands for the token's own `tid` claim (Entra multi-tenant) and needs `allowedTenants` or `allowAnyTenant`.",
  ),
  allowedTenants: names(
    "tenant id",
    "With a `{tenantid}` issuer: the tenants (`tid`) whose tokens and logins are accepted.",
  ),
  allowAnyTenant: {
    kind: "boolean",
    typeOptional: true,
    default: false,
    description:
      "With a `{tenantid}` issuer and no `allowedTenants`: accept every tenant, i.e. any organisation's users (reported as a warning).",
  },
  audienceClaim: {
    kind: "string",
    typeOptional: true,
    enum: ["aud", "client_id"],
    default: "aud",
    description:
      "The claim of a bearer JWT checked against `audiences`: `aud`, or `client_id` (Cognito access tokens have no `aud`).",
  },
  accessTokenClaims: stringMap(
    "<claim>",
    /^[A-Za-z0-9_:.-]{1,64}$/,
    "Claims a bearer JWT must carry with exactly these string values (Keycloak `typ: Bearer`, Cognito `token_use: access`), so an ID token is never taken for an access token; otherwise `claims_invalid`.",
  ),
  opaqueAccessTokens: {
    kind: "boolean",
    typeOptional: true,
    default: false,
    description:
      "The IdP's access tokens cannot be checked by Portcullis (Google): a browser session takes its identity from the ID token only and never verifies or introspects the access token.",
  },
  logout,
} as const satisfies Record<string, SchemaNode>;
