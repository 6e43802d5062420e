// A provider's DPoP settings (`providers.<name>.dpop`) made into the policy its proofs are checked
// by: the algorithm allowlist, the proof window, and the nonces when required (keyed with the
// configured secret, or the process's generated one, which stays the same across config reloads).
import type { Clock } from "../clock/Clock.ts";
import type { dpopNode } from "../config/dpopSchema.ts";
import type { SchemaOutput } from "../config/SchemaOutput.ts";
import type { DpopPolicy } from "./checkDpopProof.ts";
import { createDpopNonces } from "./createDpopNonces.ts";

export type DpopConfig = SchemaOutput<typeof dpopNode>;

/** null when the provider does not accept DPoP-bound tokens (`dpop.enabled` false or absent). */
export function createDpopPolicy(
  config: DpopConfig | undefined,
  generatedSecret: Buffer,
  clock: Clock,
): DpopPolicy | null {
  if (config === undefined || !config.enabled) return null;
  return {
    algorithms: new Set(config.algorithms),
    maxAgeSeconds: config.proofMaxAgeSeconds,
    futureSkewSeconds: config.clockSkewSeconds,
    nonces: config.nonce.required
      ? createDpopNonces({
          secret: config.nonce.secret === null ? generatedSecret : Buffer.from(config.nonce.secret, "utf8"),
          windowSeconds: config.nonce.lifetimeSeconds,
          clock,
        })
      : null,
  };
}
