// The `identity.metadata` section of the config schema: who was let through (or refused, and why),
// sent back to Envoy as the Check answer's dynamic metadata so its rate-limit filters and access log
// can use it. Values come from verified claims only (never a token or cookie), sanitised and bounded.
import { claimPath } from "./configFormats.ts";
import type { ObjectNode } from "./configSchema.ts";

export const metadataNode = {
  kind: "object",
  typeOptional: true,
  description:
    "Dynamic metadata in the Check answer (Envoy's `envoy.filters.http.ext_authz` namespace, under the key `namespace`): `route`, `provider`, `credential` (`bearer`, `session`, `certificate` or `api_key`), `kind` (`user` or `client`), `sub`, `client_id`, `tenant` and each of `claims`, for Envoy's rate limits (`metadata` action) and access log (`%DYNAMIC_METADATA(envoy.filters.http.ext_authz:portcullis:sub)%`). A public or anonymous answer carries `route` alone; a denial carries `route` and its `code`, and who the caller is only when the caller was verified (refused by requirements or deny rules), never from a refused credential. Forward-auth answers carry none. Example: `{ enabled: true, tenantClaim: tid, claims: [email] }`; envoy/per-user-rate-limit.yaml uses it.",
  fields: {
    enabled: { kind: "boolean", default: false, description: "Send the metadata." },
    namespace: {
      kind: "string",
      pattern: /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/,
      default: "portcullis",
      description:
        "Key of the metadata object inside the ext_authz filter's namespace (Envoy fixes that one), e.g. `portcullis` → `metadata_key: { key: envoy.filters.http.ext_authz, path: [{ key: portcullis }, { key: sub }] }`.",
    },
    tenantClaim: {
      kind: "string",
      format: claimPath,
      nullable: true,
      default: null,
      description: "Dotted claim path whose value is sent as `tenant` (e.g. `tid`, `org_id`); null: no `tenant`.",
    },
    claims: {
      kind: "list",
      items: { kind: "string", format: claimPath, description: "A dotted claim path; the field is named after it." },
      unique: true,
      default: [],
      description:
        "Further claims sent, each under its own path as key (e.g. `[email, groups]`); an array of strings or numbers is joined with `,`, an object is left out. At most 16.",
    },
    maxValueBytes: {
      kind: "integer",
      min: 16,
      max: 1024,
      default: 256,
      description:
        "Longest value sent, in UTF-8 bytes: a longer claim value is cut on a character boundary; a longer `sub`, `client_id` or `tenant` is left out rather than changed.",
    },
  },
} as const satisfies ObjectNode;
