// The signed identity assertion's part of the config schema: `identity.assertion` (issuer, keys,
// lifetime, claims, size bound) and a route's `assertion` (on or off, the upstream's audience).
// configSchema.ts and routeSchema.ts place them; checkAssertionRules.ts holds the cross-field rules.

import { createPrivateKey, type KeyObject } from "node:crypto";
import type { CustomReport, CustomResult, ObjectNode } from "./configSchema.ts";
import { headerName, nonBlank, webOrigin, type StringFormat } from "./configFormats.ts";

/** The identity claims an assertion may carry, beside iss, aud, idp, iat, exp and jti. */
export const ASSERTION_CLAIMS = [
  "sub",
  "email",
  "roles",
  "groups",
  "client_id",
  "name",
  "preferred_username",
  "scope",
  "acr",
  "amr",
] as const;

/** Most signing keys: the one that signs and one more (the next, or the previous) published beside it. */
export const MAX_ASSERTION_KEYS = 2;

/** The curve or key type of an assertion key, or a message saying why it is not one. */
export function assertionKeyAlgorithm(key: KeyObject): "ES256" | "EdDSA" | string {
  if (key.type !== "private") return "must be a private key";
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  return "must be a P-256 (ES256) or Ed25519 (EdDSA) key";
}

/** A private key as PEM (PKCS#8 or SEC1) or as a JWK's JSON; the key itself never reaches a message. */
export function readAssertionPrivateKey(value: string): KeyObject | null {
  try {
    const text = value.trim();
    if (text.startsWith("{"))
      return createPrivateKey({ key: JSON.parse(text) as import("node:crypto").JsonWebKey, format: "jwk" });
    return createPrivateKey(text);
  } catch {
    return null;
  }
}

export const assertionPrivateKey: StringFormat<string> = {
  label: "PEM or JWK private key",
  jsonSchema: {
    type: "string",
    anyOf: [
      {
        pattern: String.raw`^\s*-----BEGIN (EC )?PRIVATE KEY-----[A-Za-z0-9+/=\s]+-----END (EC )?PRIVATE KEY-----\s*$`,
      },
      { pattern: String.raw`^\s*\{[\s\S]*"d"[\s\S]*\}\s*$` },
    ],
  },
  schemaNote: "check-config also reads the key: a P-256 (ES256) or Ed25519 (EdDSA) private key.",
  parse(value) {
    const key = readAssertionPrivateKey(value);
    if (key === null)
      return {
        ok: false,
        message:
          "must be a PEM private key (PKCS#8 or SEC1) or a private JWK, e.g. from `openssl genpkey -algorithm ed25519`",
      };
    const algorithm = assertionKeyAlgorithm(key);
    return algorithm === "ES256" || algorithm === "EdDSA" ? { ok: true, value } : { ok: false, message: algorithm };
  },
};

export const assertionNode = {
  kind: "object",
  typeOptional: true,
  description:
    "A short-lived JWT Portcullis signs with its own key and adds to every request it lets through on a route where it is on, so an upstream can verify who called it (with the keys at `/.well-known/jwks.json`) instead of trusting a header. Its header is owned: a client-sent value is removed on every route.",
  fields: {
    enabled: {
      kind: "boolean",
      default: false,
      description:
        "Add the assertion on every route that identifies a caller; a route's `assertion.enabled` overrides it.",
    },
    issuer: {
      kind: "string",
      format: webOrigin,
      nullable: true,
      default: null,
      description:
        "Portcullis's public origin (`https://auth.example.com`): the assertion's `iss`, and where Envoy routes `/.well-known/jwks.json` and `/.well-known/openid-configuration` to the auth listener. Required when any route adds the assertion.",
    },
    header: {
      kind: "string",
      format: headerName,
      default: "x-portcullis-assertion",
      description: "Upstream header carrying the assertion.",
    },
    audience: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description: "The `aud` of routes that name none; null = every route that adds the assertion names its own.",
    },
    ttlSeconds: {
      kind: "integer",
      min: 10,
      max: 3600,
      default: 60,
      description:
        "Lifetime (`exp` - `iat`), never past the credential's own `exp`; one assertion is reused per identity and audience until half of it has passed.",
    },
    claims: {
      kind: "list",
      items: { kind: "string", enum: ASSERTION_CLAIMS, description: "An identity claim." },
      unique: true,
      default: ["sub", "email", "roles", "groups", "client_id"],
      description:
        "The identity claims it carries (beside `iss`, `aud`, `idp` = the credential's issuer, `iat`, `exp`, `jti`): never the whole token. `roles` and `groups` are read as for the headers; `sub` only ever from the token's own `sub`; `client_id` is set for machine callers only (a machine without a `sub` is named by it alone).",
    },
    maxBytes: {
      kind: "integer",
      min: 512,
      max: 8192,
      default: 2048,
      description:
        "Longest assertion (the header value): role and group lists are cut from the end to fit, longer single values left out; a config whose fixed claims (issuer, audience, provider issuer) leave under 256 bytes is refused.",
    },
    algorithm: {
      kind: "string",
      enum: ["ES256", "EdDSA"],
      default: "ES256",
      description: "The algorithm of a key Portcullis generates (when `keys` is empty).",
    },
    keys: {
      kind: "list",
      items: { kind: "string", format: assertionPrivateKey, secret: true, description: "A signing key." },
      unique: true,
      default: [],
      description:
        "Signing keys (PEM or JWK, through `${ENV}`), at most 2: the first signs, both are published, so a new key is added second, then moved first, then the old one removed. Empty: Portcullis generates one at start (with `redis`, once, held in Redis for every replica).",
    },
    cacheMaxEntries: {
      kind: "integer",
      min: 1,
      max: 1000000,
      default: 10000,
      description: "Most assertions kept for reuse (per identity and audience).",
    },
  },
} as const satisfies ObjectNode;

/** `routes[].assertion.enabled`: a boolean, or null for `identity.assertion.enabled`. */
function parseEnabled(value: unknown, path: string, report: CustomReport): CustomResult<boolean | null> {
  if (value === null || typeof value === "boolean") return { ok: true, value };
  report(path, "must be true, false or null (null: as identity.assertion.enabled says)", { value });
  return { ok: false };
}

export const routeAssertionNode = {
  kind: "object",
  typeOptional: true,
  description: "The signed identity assertion on this route (see `identity.assertion`).",
  fields: {
    enabled: {
      kind: "custom",
      typeLabel: "true, false or null",
      default: null,
      parse: parseEnabled,
      jsonSchema: { type: ["boolean", "null"] },
      description: "Whether this route adds it; null = `identity.assertion.enabled`. Not with `auth: public`.",
    },
    audience: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description: "The upstream's audience (`aud`); null = `identity.assertion.audience`.",
    },
  },
} as const satisfies ObjectNode;
