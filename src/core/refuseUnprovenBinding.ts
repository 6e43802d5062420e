// A token whose `cnf` Portcullis cannot verify against the request (a confirmation method it does not
// know, a malformed `cnf`, a DPoP key before the DPoP proof check is wired) is refused the way every
// bound token without its proof is: 401 invalid_token (`type_not_allowed`), never accepted as a plain
// bearer token, because accepting it without the proof is exactly what the binding exists to stop.
import type { Deny } from "./Decision.ts";
import { deny } from "./deny.ts";

export const BOUND_WITHOUT_PROOF = "sender-constrained token presented as a bearer token";

/** The `cnf` member names safe to quote in a log line (at most four). */
export function quotableMembers(members: readonly string[]): string {
  const shown = members.filter((m) => /^[A-Za-z0-9#_-]{1,16}$/.test(m)).slice(0, 4);
  return shown.length > 0 ? `cnf ${shown.join(", ")}` : "cnf";
}

export function refuseUnprovenBinding(
  members: readonly string[],
  why: string,
  context: { readonly route: string; readonly provider: string },
): Deny {
  return deny("type_not_allowed", {
    ...context,
    detail: `${BOUND_WITHOUT_PROOF} (${quotableMembers(members)}): ${why}`,
  });
}
