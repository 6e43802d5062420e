// A DPoP-bound token's proof, checked whole: checkDpopProof, then the replay store records the
// proof's jti, so a proof is accepted once, here or (with Redis) at any replica. A store that cannot
// answer fails the check closed: "unavailable", a 503, never an allow.
import { describeError } from "../errors/describeError.ts";
import { checkDpopProof, type DpopPolicy, type DpopPresentation } from "./checkDpopProof.ts";
import type { DpopReplayClaim, DpopReplayStore } from "./DpopReplayStore.ts";

export type DpopOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** invalid_dpop_proof and use_dpop_nonce are 401s; unavailable is a 503 (the store did not answer). */
      readonly error: "invalid_dpop_proof" | "use_dpop_nonce" | "unavailable";
      /** For the log; names the failed check, never the proof or the token. */
      readonly detail: string;
    };

/** `now`: epoch milliseconds. */
export async function verifyDpopProof(
  presentation: DpopPresentation,
  policy: DpopPolicy,
  store: DpopReplayStore,
  now: number,
): Promise<DpopOutcome> {
  const checked = checkDpopProof(presentation, policy, now);
  if (!checked.ok) return checked;
  let claim: DpopReplayClaim;
  try {
    claim = await store.claim(checked.replayKey, checked.ttlMs);
  } catch (error) {
    claim = { unavailable: describeError(error) };
  }
  if (claim === "fresh") return { ok: true };
  if (claim === "replayed")
    return { ok: false, error: "invalid_dpop_proof", detail: "DPoP proof replayed (jti seen before)" };
  return { ok: false, error: "unavailable", detail: `DPoP replay store: ${claim.unavailable}` };
}
