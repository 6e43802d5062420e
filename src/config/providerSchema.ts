// The `providers.<name>` part of the config schema: one OpenID Connect provider, its token checks,
// timeouts, browser-login client and introspection; the IdP-convention keys come from
// providerConventionFields.ts. configSchema.ts places it.

import { providerBoundTokensNode } from "./bindingSchema.ts";
import { dpopNode } from "./dpopSchema.ts";
import { httpUrl, issuerUrl, nonBlank } from "./configFormats.ts";
import type { ObjectNode } from "./configSchema.ts";
import { providerConventionFields, providerPresetFields } from "./providerConventionFields.ts";
import { providerKeySourceFields } from "./providerKeySourceFields.ts";
import { providerTokenLimitFields } from "./providerTokenLimitFields.ts";

const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

export const providerNode = {
  kind: "object",
  description: "One OpenID Connect provider whose access tokens are accepted.",
  fields: {
    issuer: {
      kind: "string",
      format: issuerUrl,
      required: true,
      description:
        "Exact issuer; tokens' `iss` must equal it, and discovery is fetched from it (unless `discovery: false`). `http://` only with `allowInsecureHttp`.",
    },
    ...providerPresetFields,
    audiences: {
      kind: "list",
      items: { kind: "string", format: nonBlank, description: "An accepted audience." },
      nonEmpty: true,
      unique: true,
      required: true,
      description: "Tokens must carry at least one of these in `aud`.",
    },
    algorithms: {
      kind: "list",
      items: { kind: "string", enum: ALGORITHMS, description: "An accepted JWS algorithm." },
      nonEmpty: true,
      unique: true,
      default: ["RS256", "PS256", "ES256", "EdDSA"],
      description: "Allowlist of asymmetric JWS algorithms (never `none` or `HS*`).",
    },
    clockToleranceSeconds: {
      kind: "integer",
      min: 0,
      max: 300,
      default: 60,
      description: "Clock skew allowed when checking `exp`, `nbf` and `iat`.",
    },
    requireAccessTokenType: {
      kind: "boolean",
      default: false,
      description: "When true, the token's `typ` must be `at+jwt` (RFC 9068).",
    },
    ...providerTokenLimitFields,
    boundTokens: providerBoundTokensNode,
    dpop: dpopNode,
    jwksUri: {
      kind: "string",
      format: httpUrl,
      nullable: true,
      default: null,
      description:
        "Overrides the `jwks_uri` from discovery; with `discovery: false` it is where the keys come from (or `staticKeys`). null = the discovery document's. Example: `jwksUri: https://idp.internal/oauth2/keys`.",
    },
    ...providerKeySourceFields,
    discoveryTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 5000,
      description: "Timeout of the OpenID discovery request.",
    },
    jwksTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 800,
      description:
        "Timeout of a JWKS request. A check may wait for one (a token with an unknown `kid`), so keep it below Envoy's ext_authz timeout (1 s in the shipped configs): the client then gets Portcullis's own answer, not Envoy's bare error.",
    },
    jwksCooldownSeconds: {
      kind: "integer",
      min: 0,
      max: 3600,
      default: 30,
      description: "Minimum seconds between two JWKS refetches triggered by an unknown `kid`.",
    },
    jwksMaxAgeSeconds: {
      kind: "integer",
      min: 10,
      max: 86400,
      default: 600,
      description: "Seconds after which the JWKS is refetched even when no unknown `kid` asks for it.",
    },
    allowInsecureHttp: {
      kind: "boolean",
      default: false,
      description: "Permits `http://` issuer and JWKS URLs (development only; reported as a warning).",
    },
    clientId: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "OAuth client id of Portcullis at this provider; needed for browser login and introspection. null = bearer tokens only.",
    },
    clientSecret: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      secret: true,
      default: null,
      description: "Client secret (pass it as `${ENV_VAR}`); null = a public client (PKCE only).",
    },
    scopes: {
      kind: "list",
      items: { kind: "string", pattern: /^[\x21\x23-\x5B\x5D-\x7E]+$/, description: "A scope." },
      unique: true,
      nonEmpty: true,
      default: ["openid", "profile", "email"],
      description: "Scopes asked for at browser login; must include `openid`.",
    },
    consentScopes: {
      kind: "list",
      items: { kind: "string", pattern: /^[\x21\x23-\x5B\x5D-\x7E]+$/, description: "A scope." },
      unique: true,
      default: [],
      description:
        "Incremental consent: scopes a browser session may be sent back to this provider to add when a route requires one it lacks (`require.scopes`). The new login asks for `scopes`, the session's granted scopes and the missing ones, with the route's step-up in the same round trip; it must bring them, or the browser gets a 403 page (`scope_not_granted`), never a second round trip. A missing scope outside this list stays 403 `insufficient_scope`, as it does for API callers always. Needs `clientId` and `redirectUri`. See docs/policy.md, After a login. Example: `consentScopes: [reports.read]`.",
    },
    redirectUri: {
      kind: "string",
      format: httpUrl,
      nullable: true,
      default: null,
      description:
        "The public `https://<host>/oauth2/callback` URL Envoy routes to Portcullis; required with `clientId`. Never derived from a request's `Host` or `X-Forwarded-*`.",
    },
    requestTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 800,
      description:
        "Timeout of a token refresh or introspection made while a check waits; keep it below Envoy's ext_authz timeout.",
    },
    codeExchangeTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 5000,
      description: "Timeout of the authorization-code exchange on `/oauth2/callback`.",
    },
    introspection: {
      kind: "object",
      description: "Token introspection (RFC 7662) for opaque access tokens; needs `clientId` and `clientSecret`.",
      fields: {
        enabled: { kind: "boolean", default: false, description: "Introspect bearer tokens that are not JWTs." },
        endpoint: {
          kind: "string",
          format: httpUrl,
          nullable: true,
          default: null,
          description: "Overrides `introspection_endpoint` from discovery.",
        },
        authMethod: {
          kind: "string",
          enum: ["client_secret_basic", "client_secret_post"],
          default: "client_secret_basic",
          description: "How Portcullis authenticates to the introspection endpoint.",
        },
        cacheTtlSeconds: {
          kind: "integer",
          min: 0,
          max: 3600,
          default: 60,
          description: "Longest time an answer is reused (never past the token's `exp`); 0 = ask every time.",
        },
        jwt: {
          kind: "boolean",
          default: false,
          description:
            "Introspect this provider's JWTs too instead of verifying them locally, so revocation takes effect at once.",
        },
        requireAudience: {
          kind: "boolean",
          default: true,
          description:
            "An active answer must name one of `audiences` in `aud` (in `client_id` with `audienceClaim: client_id`), as a JWT must: a token the provider minted for another resource server is refused (`audience_mismatch`). false = an answer without `aud` is accepted (one with `aud` is still checked); only for a provider whose introspection never reports `aud`.",
        },
      },
    },
    ...providerConventionFields,
  },
} as const satisfies ObjectNode;
