// The one declarative description of the YAML config: every key with its type, required/default,
// limits and a one-line description. parseConfig validates against it, renderConfigReference and
// renderJsonSchema document it, and PortcullisConfig.ts derives the parsed config's types from it
// (SchemaOutput.ts), so defaults, docs and types live here and nowhere else. Defaults are written in
// YAML form. Nodes are written `as const satisfies …Node` so that their literal types reach the
// derived types (an annotation such as `: ObjectNode` would erase them).

import { adminNode } from "./adminSchema.ts";
import { apiKeysNode } from "./apiKeysSchema.ts";
import { assertionNode } from "./assertionSchema.ts";
import { claimPath, contextSource, headerName, listenAddress, type StringFormat } from "./configFormats.ts";
import { forwardAuthNode } from "./forwardAuthSchema.ts";
import { listenTlsNode } from "./listenTlsSchema.ts";
import { metadataNode } from "./metadataSchema.ts";
import type { JsonSchema } from "./JsonSchema.ts";
import { providerNode } from "./providerSchema.ts";
import { policyNode, routeNode } from "./routeSchema.ts";
import { redisNode, sessionNode } from "./sessionSchema.ts";
import { traceRequestsNode } from "./traceRequestsSchema.ts";
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
  /**
   * The parser always outputs the key, but its type lets a config built in code (tests, benchmarks)
   * leave it out; readers treat a missing key as the default. Types only: parsing ignores it.
   */
  readonly typeOptional?: boolean;
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
/** `T`: what the parsed config holds for the value. */
export type CustomResult<T = unknown> = { readonly ok: true; readonly value: T } | { readonly ok: false };

/** A value the kinds above cannot express (one of two shapes, a recursive tree): it parses itself. */
export interface CustomNode<T = unknown> extends NodeBase {
  readonly kind: "custom";
  /** How the generated reference shows the type. */
  readonly typeLabel: string;
  /** The JSON Schema of the value, written beside the parser it follows. */
  readonly jsonSchema: JsonSchema;
  /** Definitions `jsonSchema` refers to as `#/definitions/<name>` (a recursive value). */
  readonly jsonSchemaDefs?: Readonly<Record<string, JsonSchema>>;
  /** Reports every problem (with key paths under `path`) and returns ok: false when there was one. */
  parse(value: unknown, path: string, report: CustomReport): CustomResult<T>;
}

export type SchemaNode = StringNode | IntegerNode | BooleanNode | ListNode | ObjectNode | MapNode | CustomNode;

const header = (name: string, value: string) =>
  ({
    kind: "string",
    format: headerName,
    default: value,
    description: `Upstream header carrying the ${name}.`,
  }) as const satisfies StringNode;

export const configSchema = {
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
        grpcTransport: {
          kind: "string",
          enum: ["net", "http2", "grpc-js"],
          default: "net",
          description:
            "The server behind `grpc`: `net`, a unary gRPC server on `node:net` with Portcullis's own HTTP/2 (h2c) framing (Check and health only; about 0.4x node:http2's CPU per check, and neither grpc-js nor node:http2's server is loaded); `http2`, the same on `node:http2`; or `grpc-js`; fixed at start.",
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
        tls: listenTlsNode,
      },
    },
    providers: {
      kind: "map",
      keyLabel: "<name>",
      keyPattern: /^[a-z0-9][a-z0-9_-]{0,62}$/,
      values: providerNode,
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
          typeOptional: true,
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
        assertion: assertionNode,
        metadata: metadataNode,
      },
    },
    session: sessionNode,
    redis: redisNode,
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
        traceRequests: traceRequestsNode,
      },
    },
    tracing: tracingNode,
    forwardAuth: forwardAuthNode,
    admin: adminNode,
    apiKeys: apiKeysNode,
  },
} as const satisfies ObjectNode;
