// The one declarative description of the YAML config: every key with its type, required/default,
// limits and a one-line description. parseConfig validates against it and renderConfigReference
// documents it, so defaults and docs live here and nowhere else. Defaults are written in YAML form.

import {
  claimPath,
  contextSource,
  headerName,
  httpUrl,
  issuerUrl,
  cookieDomain,
  cookieName,
  listenAddress,
  nonBlank,
  redirectTarget,
  redisUrl,
  sealingSecret,
  webOrigin,
  type StringFormat,
} from "./configFormats.ts";
import type { JsonSchema } from "./JsonSchema.ts";
import { providerConventionFields, providerPresetFields } from "./providerConventionFields.ts";
import { policyNode, routeNode } from "./routeSchema.ts";
import { tracingNode } from "./tracingSchema.ts";

interface NodeBase {
  readonly description: string;
  /** Missing key is a problem. Mutually exclusive with `default`. */
  readonly required?: boolean;
  /** YAML-form value used when the key is missing; it goes through the same parsing as user input. */
  readonly default?: unknown;
  /** Never quote the value in messages. */
  readonly secret?: boolean;
  /** Name of the key in PortcullisConfig when it differs from the YAML key (`host` → `hosts`). */
  readonly outputKey?: string;
}

export interface StringNode extends NodeBase {
  readonly kind: "string";
  readonly enum?: readonly string[];
  readonly pattern?: RegExp;
  readonly format?: StringFormat;
  readonly nullable?: boolean;
}

export interface IntegerNode extends NodeBase {
  readonly kind: "integer";
  readonly min: number;
  readonly max: number;
}

export interface BooleanNode extends NodeBase {
  readonly kind: "boolean";
}

export interface ListNode extends NodeBase {
  readonly kind: "list";
  readonly items: SchemaNode;
  readonly nonEmpty?: boolean;
  readonly unique?: boolean;
  /** null is a value of its own (e.g. "not set here: use another key's"). */
  readonly nullable?: boolean;
  /** A single item may be written without the list brackets. */
  readonly acceptSingle?: boolean;
}

export interface ObjectNode extends NodeBase {
  readonly kind: "object";
  readonly fields: Readonly<Record<string, SchemaNode>>;
}

export interface MapNode extends NodeBase {
  readonly kind: "map";
  /** How the key is shown in the reference, e.g. `<name>`. */
  readonly keyLabel: string;
  readonly keyPattern?: RegExp;
  readonly keyFormat?: StringFormat;
  readonly values: SchemaNode;
  /** Copy the map key into each (object) value under this name. */
  readonly keyInto?: string;
}

/** Reports one problem under a custom node; `got` is quoted in the message unless the path is secret. */
export type CustomReport = (path: string, message: string, got?: { readonly value: unknown }) => void;
export type CustomResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

/** A value the kinds above cannot express (one of two shapes, a recursive tree): it parses itself. */
export interface CustomNode extends NodeBase {
  readonly kind: "custom";
  /** How the generated reference shows the type. */
  readonly typeLabel: string;
  /** The JSON Schema of the value, written beside the parser it follows. */
  readonly jsonSchema: JsonSchema;
  /** Definitions `jsonSchema` refers to as `#/$defs/<name>` (a recursive value). */
  readonly jsonSchemaDefs?: Readonly<Record<string, JsonSchema>>;
  /** Reports every problem (with key paths under `path`) and returns ok: false when there was one. */
  parse(value: unknown, path: string, report: CustomReport): CustomResult;
}

export type SchemaNode = StringNode | IntegerNode | BooleanNode | ListNode | ObjectNode | MapNode | CustomNode;

const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

const provider: ObjectNode = {
  kind: "object",
  description: "One OpenID Connect provider whose access tokens are accepted.",
  fields: {
    issuer: {
      kind: "string",
      format: issuerUrl,
      required: true,
      description: "Exact issuer; tokens' `iss` must equal it. `http://` only with `allowInsecureHttp`.",
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
    jwksUri: {
      kind: "string",
      format: httpUrl,
      nullable: true,
      default: null,
      description: "Overrides the `jwks_uri` from discovery; null = use discovery.",
    },
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
};

const session: ObjectNode = {
  kind: "object",
  description: "Browser sessions: made at login, kept in encrypted cookies or in Redis.",
  fields: {
    store: {
      kind: "string",
      enum: ["cookie", "redis"],
      default: "cookie",
      description:
        "`cookie`: the whole session is sealed into cookies, nothing is stored server-side. `redis`: the cookie holds only a session id and a per-session secret; Redis holds the session encrypted with a key derived from that secret (needs `redis`). Use `redis` to share sessions and refreshes across replicas and to end sessions server-side.",
    },
    keys: {
      kind: "list",
      items: { kind: "string", format: sealingSecret, secret: true, description: "A sealing secret." },
      unique: true,
      default: [],
      description:
        "Secrets that seal session and login cookies (AES-256-GCM); the first seals, all unseal, so a new key goes first and an old one last until its sessions expire. Required when a provider has a `clientId`.",
    },
    cookieName: {
      kind: "string",
      format: cookieName,
      nullable: true,
      default: null,
      description:
        "Session cookie name; null = `__Host-portcullis` (host-only), or `portcullis` when `cookieDomain` is set.",
    },
    cookieDomain: {
      kind: "string",
      format: cookieDomain,
      nullable: true,
      default: null,
      description: "Share the session across subdomains of this domain; null = host-only cookies (safest).",
    },
    lifetimeSeconds: {
      kind: "integer",
      min: 60,
      max: 2592000,
      default: 86400,
      description: "Absolute session lifetime, however long the refresh token lasts.",
    },
    refreshWindowSeconds: {
      kind: "integer",
      min: 0,
      max: 3600,
      default: 300,
      description: "Refresh the access token when it expires within this many seconds.",
    },
    loginTimeoutSeconds: {
      kind: "integer",
      min: 30,
      max: 600,
      default: 600,
      description: "How long a started login may take before its transaction cookie expires.",
    },
    maxPendingLogins: {
      kind: "integer",
      min: 1,
      max: 20,
      default: 5,
      description: "Logins pending at once per browser (several tabs); the oldest is dropped beyond this.",
    },
    allowedRedirectOrigins: {
      kind: "list",
      items: { kind: "string", format: webOrigin, description: "An origin." },
      unique: true,
      default: [],
      description:
        "Origins besides the login origin (that of `redirectUri`) that return URLs and post-logout redirects may point to.",
    },
    postLogoutRedirect: {
      kind: "string",
      format: redirectTarget,
      default: "/",
      description: "Where the browser lands after sign-out: a path on the login origin or a URL on an allowed origin.",
    },
  },
};

const redis: ObjectNode = {
  kind: "object",
  description:
    "Redis, shared by every replica: the session store (`session.store: redis`), the refresh lock, and the back-channel logout and sign-out revocations and the replay guard. Without it each replica knows only its own logouts and sign-outs.",
  fields: {
    url: {
      kind: "string",
      format: redisUrl,
      nullable: true,
      default: null,
      description: "`redis://host:6379[/db]`, or `rediss://` for TLS; null = no Redis.",
    },
    sentinels: {
      kind: "list",
      items: { kind: "string", format: listenAddress, description: "A sentinel's `host:port`." },
      unique: true,
      default: [],
      description: "Redis Sentinel: ask these for the current master (`url` then only sets TLS and the database).",
    },
    sentinelMaster: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description: "The master's name in Sentinel; required with `sentinels`.",
    },
    username: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description: "ACL user name (Redis 6+); null = default user.",
    },
    password: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      secret: true,
      description:
        "Password (`requirepass` or the ACL user's); write `${REDIS_PASSWORD}` to take it from the environment.",
    },
    caFile: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "PEM file of CA certificates that sign the server's certificate (rediss:// only); null = the system's.",
    },
    keyPrefix: {
      kind: "string",
      pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
      default: "portcullis:",
      description: "Prefix of every key and channel, so several deployments can share one Redis.",
    },
    connectTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 2000,
      description: "Timeout of each connection attempt; reconnects back off up to 2 s.",
    },
    commandTimeoutMs: {
      kind: "integer",
      min: 10,
      max: 10000,
      default: 500,
      description:
        "Timeout of each command; a slower Redis counts as unavailable (session requests get 503, bearer tokens are unaffected).",
    },
  },
};

const header = (name: string, value: string): StringNode => ({
  kind: "string",
  format: headerName,
  default: value,
  description: `Upstream header carrying the ${name}.`,
});

export const configSchema: ObjectNode = {
  kind: "object",
  description: "The Portcullis configuration file.",
  fields: {
    listen: {
      kind: "object",
      description: "Listener addresses (port 0 = ephemeral, for tests).",
      fields: {
        grpc: {
          kind: "string",
          format: listenAddress,
          default: "0.0.0.0:9191",
          description: "Envoy ext_authz and `grpc.health.v1`.",
        },
        auth: {
          kind: "string",
          format: listenAddress,
          default: "0.0.0.0:8181",
          description: "The `/oauth2/*` HTTP endpoints.",
        },
        admin: {
          kind: "string",
          format: listenAddress,
          default: "127.0.0.1:9464",
          description: "`/metrics`, `/healthz`, `/readyz`; a warning when not on loopback.",
        },
      },
    },
    providers: {
      kind: "map",
      keyLabel: "<name>",
      keyPattern: /^[a-z0-9][a-z0-9_-]{0,62}$/,
      values: provider,
      keyInto: "name",
      default: {},
      description: "Named OpenID Connect providers; the name is a metric label.",
    },
    policy: policyNode,
    routes: {
      kind: "list",
      items: routeNode,
      nonEmpty: true,
      required: true,
      description:
        "Ordered route rules; first match wins; no match = deny in `rules` mode, the `policy.mode` default otherwise.",
    },
    identity: {
      kind: "object",
      description: "How verified claims become upstream headers.",
      fields: {
        headers: {
          kind: "object",
          description: "Names of the standard identity headers.",
          fields: {
            sub: header("subject (`sub`)", "x-user-sub"),
            email: header("email", "x-user-email"),
            roles: header("roles (comma-separated)", "x-user-roles"),
            context: header("base64 JSON context", "x-user-context"),
            clientId: header(
              "OAuth client id (`client_id`, else `azp`) of the caller, person or machine",
              "x-client-id",
            ),
          },
        },
        roleClaims: {
          kind: "list",
          items: { kind: "string", format: claimPath, description: "A claim path." },
          unique: true,
          default: ["roles", "realm_access.roles", "groups", "cognito:groups"],
          description:
            "Dotted claim paths read for roles, in order, merged; a provider's `roleClaims` (or its preset's) replaces this for its tokens.",
        },
        groupClaims: {
          kind: "list",
          items: { kind: "string", format: claimPath, description: "A claim path." },
          unique: true,
          default: ["groups"],
          description:
            "Dotted claim paths read for groups (`require.groups`), in order, merged; a provider's `groupClaims` (or its preset's) replaces this for its tokens.",
        },
        claimHeaders: {
          kind: "map",
          keyLabel: "<header>",
          keyFormat: headerName,
          values: { kind: "string", format: claimPath, description: "Dotted claim path." },
          default: {},
          description: "Extra headers: header name → dotted claim path.",
        },
        context: {
          kind: "object",
          description: "The `x-user-context` header (base64 of a JSON object).",
          fields: {
            enabled: { kind: "boolean", default: true, description: "Whether the context header is set." },
            fields: {
              kind: "map",
              keyLabel: "<field>",
              keyPattern: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
              values: { kind: "string", format: contextSource, description: "Source of the field." },
              default: { id: "sub", email: "email", scopes: "scopes", roles: "roles", exp: "exp" },
              description: "JSON field name → source; replaces the default set when given.",
            },
          },
        },
        maxHeaderBytes: {
          kind: "integer",
          min: 256,
          max: 16384,
          default: 4096,
          description: "Longest header value set; longer values are cut on a character boundary.",
        },
        forwardAuthorization: {
          kind: "boolean",
          default: false,
          description:
            "Pass the client's `Authorization` header on to the upstream. Off by default: the upstream gets the verified identity headers, never a credential it could leak or replay.",
        },
      },
    },
    session,
    redis,
    tokenCache: {
      kind: "object",
      description: "Cache of verified tokens.",
      fields: {
        maxEntries: { kind: "integer", min: 1, max: 1000000, default: 10000, description: "Most tokens kept." },
      },
    },
    shutdown: {
      kind: "object",
      description: "Graceful shutdown on SIGTERM or SIGINT: a drain period, then in-flight checks finish.",
      fields: {
        graceSeconds: {
          kind: "integer",
          min: 0,
          max: 300,
          default: 10,
          description: "Seconds in-flight checks get to finish once the drain is over; then the process exits 0.",
        },
        drainSeconds: {
          kind: "integer",
          min: 0,
          max: 300,
          default: 5,
          description:
            "Seconds between SIGTERM and closing the listeners: health reports `NOT_SERVING` (gRPC and `/readyz`) at once while checks and `/oauth2/*` are still answered, so Envoy's health checks and Kubernetes' endpoints move traffic away first. Keep it above Envoy's health-check interval (1 s in `envoy/replicas.yaml`); a second SIGTERM or SIGINT ends it early; 0 = no drain (a single replica, tests).",
        },
      },
    },
    log: {
      kind: "object",
      description: "Logging.",
      fields: {
        level: {
          kind: "string",
          enum: ["debug", "info", "warn", "error"],
          default: "info",
          description: "Lowest level logged.",
        },
        audit: {
          kind: "boolean",
          default: false,
          description:
            'One `info` line per decision (`"msg":"audit"`): route, allow or deny, reason, the caller\'s `sub` or client id, provider. Never a token or cookie.',
        },
      },
    },
    tracing: tracingNode,
  },
};
