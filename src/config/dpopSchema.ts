// The `providers.<name>.dpop` part of the config schema: whether the provider's DPoP-bound tokens
// (RFC 9449, `cnf.jkt`) are accepted with their proofs, which proof algorithms, how fresh a proof
// must be, and server-provided nonces. providerSchema.ts places it; oidc/createDpopPolicy.ts reads it.

import type { ObjectNode } from "./configSchema.ts";
import { sealingSecret } from "./configFormats.ts";

/** The proof algorithms Portcullis verifies (oidc/readDpopProofHeader.ts checks them): asymmetric, widely implemented. */
export const DPOP_ALGORITHMS = ["ES256", "ES384", "EdDSA", "PS256", "RS256"] as const;

export const dpopNode = {
  kind: "object",
  typeOptional: true,
  description:
    "DPoP (RFC 9449): tokens bound to a key the client proves it holds, sent as `Authorization: DPoP <token>` with a `DPoP` proof header. Each proof is checked (signature with the key it carries, that key's thumbprint = the token's `cnf.jkt`, method, URI, `iat`, `ath`) and accepted once: its `jti` is remembered in memory, or in Redis when `redis` is configured, so a proof replayed at another replica is refused too.",
  fields: {
    enabled: {
      kind: "boolean",
      default: false,
      description:
        "Accept this provider's DPoP-bound tokens with a valid proof (Envoy must pass the `dpop` header: `check-config --envoy` lists it). false: such tokens are refused, as any sender-constrained token whose proof is not checked.",
    },
    algorithms: {
      kind: "list",
      items: { kind: "string", enum: DPOP_ALGORITHMS, description: "An accepted proof algorithm." },
      nonEmpty: true,
      unique: true,
      default: [...DPOP_ALGORITHMS],
      description:
        "Algorithms a proof may be signed with (asymmetric only: never `none` or `HS*`); also advertised in the `DPoP algs` challenge.",
    },
    proofMaxAgeSeconds: {
      kind: "integer",
      min: 5,
      max: 600,
      default: 60,
      description:
        "How old a proof's `iat` may be; also how long each proof's `jti` is remembered (with `clockSkewSeconds`).",
    },
    clockSkewSeconds: {
      kind: "integer",
      min: 0,
      max: 60,
      default: 5,
      description: "How far in the future a proof's `iat` may be (the client's clock running ahead).",
    },
    nonce: {
      kind: "object",
      description:
        "Server-provided nonces (RFC 9449 §8): a proof must carry a recent nonce of ours, so a proof made in advance is useless. Stateless: a nonce is an HMAC of a time window.",
      fields: {
        required: {
          kind: "boolean",
          default: false,
          description:
            "Ask for a nonce: a proof without a current one gets 401 `use_dpop_nonce` with a fresh `DPoP-Nonce` header, and the client retries with it.",
        },
        secret: {
          kind: "string",
          format: sealingSecret,
          nullable: true,
          secret: true,
          default: null,
          description:
            "HMAC key of the nonces (pass it as `${ENV_VAR}`, at least 32 characters). Replicas behind one address need the same one, or a nonce one gives out is refused by another. null = a key generated at start-up, for one replica.",
        },
        lifetimeSeconds: {
          kind: "integer",
          min: 10,
          max: 3600,
          default: 300,
          description:
            "A nonce is accepted in the window it was made in and the next, so for this long to twice this long.",
        },
      },
    },
  },
} as const satisfies ObjectNode;
