// The `apiKeys` section of the config schema: static keys for legacy clients that cannot get a token,
// held only as SHA-256 digests (a key never appears in clear), each naming the client it admits and
// its scopes and roles, written inline or in a keys file (readApiKeyFile.ts). Routes opt in with
// `routes[].apiKeys`; checkApiKeyRules.ts checks the rest.
import { headerName, type FormatResult, type StringFormat } from "./configFormats.ts";
import type { ObjectNode } from "./configSchema.ts";
import { CLIENT_ID } from "./bindingSchema.ts";
import { QUERY_PARAMETER_NAME } from "./tokenSourceSchema.ts";

const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;
const BASE64URL_DIGEST = /^[A-Za-z0-9_-]{43}$/;

/** A SHA-256 digest written as 64 hex digits or 43 base64url characters; parsed to lower-case hex. */
export const sha256Digest: StringFormat<string> = {
  label: "SHA-256 digest",
  jsonSchema: { type: "string", pattern: "^(?:[0-9a-fA-F]{64}|[A-Za-z0-9_-]{43})$" },
  parse(value): FormatResult<string> {
    if (HEX_DIGEST.test(value)) return { ok: true, value: value.toLowerCase() };
    if (BASE64URL_DIGEST.test(value)) return { ok: true, value: Buffer.from(value, "base64url").toString("hex") };
    return {
      ok: false,
      message:
        'must be the SHA-256 digest of the key (64 hex digits or 43 base64url characters), never the key itself: printf %s "$KEY" | sha256sum',
    };
  },
};

export const apiKeyNode = {
  kind: "object",
  description: "One key: the digest of its value and who presenting it stands for.",
  fields: {
    clientId: {
      kind: "string",
      format: CLIENT_ID,
      required: true,
      description:
        "The client id the key admits: `client_id` of a machine principal (the `x-client-id` header, `require.clients`, the audit log).",
    },
    sha256: {
      kind: "string",
      format: sha256Digest,
      required: true,
      // A key pasted here by mistake is never quoted back.
      secret: true,
      description:
        'SHA-256 of the key\'s bytes (UTF-8), hex or base64url, e.g. `printf %s "$KEY" | sha256sum`; or `${ENV}`.',
    },
    scopes: {
      kind: "list",
      items: {
        kind: "string",
        pattern: /^[\x21\x23-\x5b\x5d-\x7e]{1,200}$/,
        description: "A scope (RFC 6749 scope-token).",
      },
      unique: true,
      default: [],
      description: "Its scopes, as `require.scopes` reads them (the `scope` claim).",
    },
    roles: {
      kind: "list",
      items: { kind: "string", pattern: /^[\x21-\x2b\x2d-\x7e]{1,200}$/, description: "A role (no comma, no space)." },
      unique: true,
      default: [],
      description:
        "Its roles, as `require.roles` reads them (a machine principal gets `x-client-id`, no user headers).",
    },
  },
} as const satisfies ObjectNode;

export const apiKeysNode = {
  kind: "object",
  typeOptional: true,
  description:
    "API keys for legacy clients that cannot get a token: each key admits one machine client with fixed scopes and roles, on routes with `apiKeys: true` only. Keys are held as SHA-256 digests, looked up by the digest of the presented key, removed before the upstream and never logged. A reload swaps the whole set (rotation: add the new key under a new `clientId`, move the client over, remove the old entry). See docs/security.md, API keys. Prefer tokens: a key does not expire and is not bound to its sender.",
  fields: {
    enabled: { kind: "boolean", default: false, description: "Accept API keys on the routes that opt in." },
    header: {
      kind: "string",
      format: headerName,
      nullable: true,
      default: "x-api-key",
      description: "The request header holding the bare key; null = none (then `queryParameter`).",
    },
    queryParameter: {
      kind: "string",
      pattern: QUERY_PARAMETER_NAME,
      nullable: true,
      default: null,
      description:
        "A query parameter holding the key, e.g. `api_key`, for clients that cannot set headers; Envoy gRPC front door only (removed before the upstream, never logged by Portcullis; keep it out of Envoy's access log format too).",
    },
    keys: {
      kind: "list",
      items: apiKeyNode,
      default: [],
      description: "The accepted keys; digests and client ids each unique (with those of `file`).",
    },
    file: {
      kind: "string",
      pattern: /^\/[^\0]*$/,
      nullable: true,
      default: null,
      description:
        "More keys from this absolute path: a YAML or JSON list of entries shaped like those of `keys` (`clientId`, `sha256`, `scopes`, `roles`; digests only, at most 10000 entries, 1 MiB), e.g. a Kubernetes Secret mounted as `/etc/portcullis/keys/api-keys.yaml`. Read at start and on each reload (`serve --watch` also reloads when it changes); a file that does not load fails the start or the reload (the running keys are kept), each problem naming the file and the entry. Example: `/etc/portcullis/keys/api-keys.yaml`.",
    },
  },
} as const satisfies ObjectNode;
