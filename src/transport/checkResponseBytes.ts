// The CheckResponse bytes for a decision, encoded once per reused decision: the gate hands out the
// same frozen Allow for every check of one cached credential on one route, so its bytes are kept
// beside it (weakly: they go when the gate lets the decision go) and a known token's answer is a
// lookup. A decision made for one check (not frozen) is encoded every time, never kept.
import type { Decision } from "../core/Decision.ts";
import { encodeCheckResponse } from "./encodeCheckResponse.ts";
import { keptFramed } from "./grpcWire.ts";

const encoded = new WeakMap<Decision, Buffer>();

/** encodeCheckResponse, reused for a frozen decision; null when a string has no UTF-8 form. */
export function checkResponseBytes(decision: Decision): Buffer | null {
  if (!Object.isFrozen(decision)) return encodeCheckResponse(decision);
  const known = encoded.get(decision);
  if (known !== undefined) return known;
  const fresh = encodeCheckResponse(decision);
  if (fresh === null) return null;
  // Kept framed too: the node:http2 server writes the same frame for every check of this answer.
  const kept = keptFramed(fresh);
  encoded.set(decision, kept);
  return kept;
}
