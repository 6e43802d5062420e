// The provider keys that say where its signing keys come from when it publishes no discovery
// document (jwt_authn `local_jwks`, internal IdPs): `discovery: false` with `jwksUri` or
// `staticKeys` (a JWK Set inline or in a file, or PEM public keys). providerSchema.ts places them.
import type { BooleanNode, ObjectNode } from "./configSchema.ts";
import { nonBlank } from "./configFormats.ts";

export const providerKeySourceFields = {
  discovery: {
    typeOptional: true,
    kind: "boolean",
    default: true,
    description:
      "Fetch `<issuer>/.well-known/openid-configuration` at start. false = no discovery request at all: the keys come from `jwksUri` or `staticKeys`, `issuer` is only the exact `iss` tokens must carry, and /readyz waits only for the keys. Such a provider verifies bearer tokens only (no browser login; introspection needs `introspection.endpoint`). Example: `discovery: false` with `jwksUri: https://idp.internal/keys`.",
  } as const satisfies BooleanNode,
  staticKeys: {
    typeOptional: true,
    kind: "object",
    description:
      "The provider's public keys given here instead of fetched (needs `discovery: false`); exactly one of `jwks`, `jwksFile`, `pem`. Files are read again every `jwksMaxAgeSeconds` and when a token names an unknown `kid` (at most once per `jwksCooldownSeconds`), so a key rotated in the file is picked up without a restart. Example: `staticKeys: { jwksFile: /etc/portcullis/idp-keys.json }`.",
    fields: {
      jwks: {
        kind: "string",
        format: nonBlank,
        nullable: true,
        default: null,
        description:
          'A JWK Set as JSON text, e.g. `\'{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"…","y":"…"}]}\'`. Public members only.',
      },
      jwksFile: {
        kind: "string",
        format: nonBlank,
        nullable: true,
        default: null,
        description: "Path of a file holding a JWK Set (JSON), e.g. `/etc/portcullis/idp-keys.json`.",
      },
      pem: {
        kind: "list",
        nullable: true,
        default: null,
        nonEmpty: true,
        description:
          "PEM public keys (SPKI `-----BEGIN PUBLIC KEY-----` or a certificate), each from a file, e.g. `[{ file: /etc/portcullis/idp.pem, kid: 2024-01 }]`.",
        items: {
          kind: "object",
          description: "One PEM public key.",
          fields: {
            file: { kind: "string", format: nonBlank, required: true, description: "Path of the PEM file." },
            kid: {
              kind: "string",
              format: nonBlank,
              nullable: true,
              default: null,
              description:
                "The `kid` tokens signed with this key name in their header; null = tokens without a `kid` (a token with one finds no key).",
            },
          },
        },
      },
    },
  } as const satisfies ObjectNode,
};
