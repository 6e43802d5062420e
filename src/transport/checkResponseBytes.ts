// The CheckResponse bytes for a decision, encoded once per reused decision: the gate hands out the
// same frozen Allow for every check of one cached credential on one route, so its bytes are kept
// beside it (weakly: they go when the gate lets the decision go) and a known token's answer is a
// lookup. A decision made for one check (not frozen) is encoded every time, never kept.
import type { Decision } from "../core/Decision.ts";
import { encodeCheckResponse } from "./encodeCheckResponse.ts";

const encoded = new WeakMap<Decision, Buffer>();

/** encodeCheckResponse, reused for a frozen decision; null when a string has no UTF-8 form. */
export function checkResponseBytes(decision: Decision): Buffer | null {
  if (!Object.isFrozen(decision)) return encodeCheckResponse(decision);
  const known = encoded.get(decision);
  if (known !== undefined) return known;
  const fresh = encodeCheckResponse(decision);
  if (fresh === null) return null;
  // A buffer of its own: a slice of Node's shared pool would keep a whole 8 kB pool alive with it.
  const kept = Buffer.allocUnsafeSlow(fresh.length);
  fresh.copy(kept);
  encoded.set(decision, kept);
  return kept;
}
