// The `routes[].exchange` part of the config schema: token exchange (RFC 8693) for a route's
// upstream, which then gets a token the IdP scoped to it instead of the caller's. routeSchema.ts
// places it; checkExchangeRules.ts holds its cross-field rules, oidc/createTokenExchange.ts reads it.

import { HOP_BY_HOP_HEADERS, httpUrl, nonBlank, type FormatResult, type StringFormat } from "./configFormats.ts";
import type { ObjectNode } from "./configSchema.ts";

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

/** The upstream header of the exchanged token: `authorization` or a header of the route's choosing. */
export const exchangeHeaderName: StringFormat<string> = {
  label: "exchange header name",
  jsonSchema: { type: "string", pattern: HEADER_NAME.source, not: { enum: [...HOP_BY_HOP_HEADERS, "host", "cookie"] } },
  parse(value): FormatResult {
    if (value !== value.toLowerCase())
      return { ok: false, message: `must be lower-case (write ${JSON.stringify(value.toLowerCase())})` };
    if (!HEADER_NAME.test(value))
      return { ok: false, message: "must be an HTTP header name (token characters, 1..100)" };
    if (HOP_BY_HOP_HEADERS.has(value) || value === "host" || value === "cookie")
      return { ok: false, message: "must not be host, cookie or a hop-by-hop header" };
    return { ok: true, value };
  },
};

/** RFC 6750's scheme word (a token): `Bearer`, or another the upstream expects. */
const SCHEME = /^[A-Za-z][A-Za-z0-9._~+-]{0,31}$/;

export const exchangeNode = {
  kind: "object",
  typeOptional: true,
  description:
    "Token exchange (RFC 8693) for this route's upstream: on an allowed request, the caller's access token (the bearer token, or the session's access token) is exchanged at the provider's token endpoint for one scoped to `audience` / `resource`, and the upstream gets that token instead of the caller's. Exchanged tokens are cached per caller token and target until shortly before they expire; a failed exchange denies the request (403 `token_exchange_refused`, 503 `token_exchange_unavailable`).",
  fields: {
    enabled: {
      kind: "boolean",
      default: false,
      description:
        "Exchange the caller's token on this route. Off by default: the upstream gets identity headers only.",
    },
    provider: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "The provider whose token endpoint (from discovery) exchanges; only its tokens are exchanged (another provider's caller is refused). null = the provider that verified the caller's credential.",
    },
    audience: {
      kind: "list",
      items: {
        kind: "string",
        format: nonBlank,
        description: "A logical name of the target service (e.g. a client id).",
      },
      unique: true,
      default: [],
      description: "`audience` parameters: the services the new token is for (Keycloak: the target client's id).",
    },
    resource: {
      kind: "list",
      items: { kind: "string", format: httpUrl, description: "An absolute URI of the target service." },
      unique: true,
      default: [],
      description:
        "`resource` parameters (RFC 8707): the URIs the new token is for. At least one `audience` or `resource` is needed.",
    },
    scopes: {
      kind: "list",
      items: { kind: "string", pattern: /^[\x21\x23-\x5B\x5D-\x7E]+$/, description: "A scope." },
      unique: true,
      default: [],
      description: "`scope` of the new token; empty = none asked for (the IdP's default for the target).",
    },
    clientId: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "The OAuth client Portcullis exchanges as (a confidential client the IdP allows to exchange; Keycloak: `standard.token.exchange.enabled`). null = the provider's `clientId`.",
    },
    clientSecret: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      secret: true,
      default: null,
      description:
        "That client's secret (pass it as `${ENV_VAR}`); required with `clientId`. null with `clientId` null = the provider's `clientSecret`.",
    },
    authMethod: {
      kind: "string",
      enum: ["client_secret_basic", "client_secret_post"],
      default: "client_secret_basic",
      description: "How Portcullis authenticates to the token endpoint.",
    },
    header: {
      kind: "string",
      format: exchangeHeaderName,
      default: "authorization",
      description:
        "Upstream header that carries the exchanged token; the client's own value of it is replaced. Not one of the identity headers.",
    },
    scheme: {
      kind: "string",
      pattern: SCHEME,
      nullable: true,
      default: "Bearer",
      description:
        "Written before the token in `header` (`Bearer <token>`); null = the bare token (not with `authorization`).",
    },
    removeAuthorization: {
      kind: "boolean",
      default: true,
      description:
        "Remove the client's `Authorization` header, so the upstream never sees the caller's own token. false (only with a `header` other than `authorization`) passes it on beside the exchanged one.",
    },
    timeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 800,
      description:
        "Timeout of the exchange call; a check waits for it on a cache miss, so keep it below Envoy's ext_authz timeout. A timeout denies with 503.",
    },
    expiryMarginSeconds: {
      kind: "integer",
      min: 0,
      max: 300,
      default: 30,
      description:
        "An exchanged token is reused until this long before its expiry (`expires_in`, else its `exp`), so the upstream never gets one about to expire; never past the caller's token's own `exp`.",
    },
    cacheMaxEntries: {
      kind: "integer",
      min: 1,
      max: 1000000,
      default: 10000,
      description: "Most exchanged tokens this route keeps (least recently used go first).",
    },
  },
} as const satisfies ObjectNode;
