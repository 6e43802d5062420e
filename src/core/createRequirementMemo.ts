// Judges a route's requirements for the Gate, keeping what a returning credential's claims decide:
// for a caller whose claims object comes back unchanged (a cached token's deep-frozen claims), the
// part of the answer that reads only those claims (deny rules' `when`, policy defaults, principal,
// clients, audiences, roles, groups, claims, scopes, acr, amr) is judged once per compiled
// requirements and reused; maxAge, which reads the clock, is judged on every check. One memo per
// Gate, keyed by the compiled requirements object, so a reload's new policy is always judged afresh.
import type { CompiledRequirements } from "./compileRequirements.ts";
import { evaluateMaxAge, evaluateTimelessRequirements, type RequirementSubject } from "./evaluateRequirements.ts";
import type { RequirementOutcome } from "./RequirementOutcome.ts";
import type { Subject } from "./Subject.ts";

/**
 * Routes' answers kept per credential beyond its first: a credential used on more routes than this
 * has the rest judged on every check, so one credential holds at most this many plus one.
 */
export const KEPT_ROUTES_PER_CREDENTIAL = 32;

/** One credential's kept answers: its first route's inline (most credentials use one), then a few more. */
interface Kept {
  readonly provider: string;
  readonly req: CompiledRequirements;
  readonly outcome: RequirementOutcome;
  more?: Map<CompiledRequirements, RequirementOutcome>;
}

export interface RequirementMemo {
  /** evaluateRequirements(req, judged)'s answer; `credential` says whether its claims may be kept for. */
  judge(
    req: CompiledRequirements,
    judged: RequirementSubject,
    credential: Pick<Subject, "claims" | "provider" | "keepAnswer">,
  ): RequirementOutcome;
}

export function createRequirementMemo(): RequirementMemo {
  // Held weakly by the claims object: an entry goes when the token cache lets its token go.
  const kept = new WeakMap<object, Kept>();

  function timeless(
    req: CompiledRequirements,
    judged: RequirementSubject,
    credential: Pick<Subject, "claims" | "provider" | "keepAnswer">,
  ): RequirementOutcome {
    // Only claims that cannot change are kept for: the verifiers deep-freeze a token's claims and API
    // keys' and certificate clients' are frozen at start; a session's are not frozen, and stay fresh.
    if (!credential.keepAnswer || !Object.isFrozen(credential.claims)) return evaluateTimelessRequirements(req, judged);
    const entry = kept.get(credential.claims);
    if (entry === undefined) {
      const outcome = Object.freeze(evaluateTimelessRequirements(req, judged));
      kept.set(credential.claims, { provider: credential.provider, req, outcome });
      return outcome;
    }
    // Roles and groups are read per provider: claims met under another provider are judged afresh.
    if (entry.provider !== credential.provider) return evaluateTimelessRequirements(req, judged);
    if (entry.req === req) return entry.outcome;
    const known = entry.more?.get(req);
    if (known !== undefined) return known;
    const outcome = Object.freeze(evaluateTimelessRequirements(req, judged));
    entry.more ??= new Map();
    if (entry.more.size < KEPT_ROUTES_PER_CREDENTIAL) entry.more.set(req, outcome);
    return outcome;
  }

  return {
    judge(req, judged, credential) {
      const outcome = timeless(req, judged, credential);
      return outcome.ok ? evaluateMaxAge(req, judged) : outcome;
    },
  };
}
