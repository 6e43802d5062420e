// Judges a route's requirements for the Gate, keeping what a returning credential's claims decide:
// for a caller whose claims object comes back unchanged (a cached token's deep-frozen claims), the
// part of the answer that reads only those claims (deny rules' `when`, policy defaults, principal,
// clients, audiences, roles, groups, claims, scopes, acr, amr) is judged once per compiled
// requirements and reused; maxAge, which reads the clock, is judged on every check, and requirements
// whose deny rules read the request (`when.request`, readsRequest) are judged whole on every check. One memo per
// Gate, keyed by the compiled requirements object, so a reload's new policy is always judged afresh.
import type { Clock } from "../clock/Clock.ts";
import type { CompiledRequirements } from "./compileRequirements.ts";
import { evaluateMaxAge, evaluateTimelessRequirements } from "./evaluateRequirements.ts";
import { judgedSubject, type RoleReader } from "./judgedSubject.ts";
import type { RequirementOutcome } from "./RequirementOutcome.ts";
import type { Subject } from "./Subject.ts";
import type { ConditionInput } from "./compileRequestConditions.ts";

/**
 * Routes' answers kept per credential beyond its first: a credential used on more routes than this
 * has the rest judged on every check, so one credential holds at most this many plus one.
 */
export const KEPT_ROUTES_PER_CREDENTIAL = 32;

/** What the memo reads of a credential: its claims, their provider, and whether it comes back. */
export type JudgedCredential = Pick<Subject, "claims" | "provider" | "keepAnswer">;

/** One credential's kept answers: its first route's inline (most credentials use one), then a few more. */
interface Kept {
  readonly provider: string;
  readonly req: CompiledRequirements;
  readonly outcome: RequirementOutcome;
  more?: Map<CompiledRequirements, RequirementOutcome>;
}

export interface RequirementMemo {
  /** evaluateRequirements' answer for the credential, at the clock's time. */
  judge(req: CompiledRequirements, credential: JudgedCredential, request?: ConditionInput): RequirementOutcome;
}

export function createRequirementMemo(identity: RoleReader, clock: Pick<Clock, "now">): RequirementMemo {
  // Held weakly by the claims object: an entry goes when the token cache lets its token go.
  const kept = new WeakMap<object, Kept>();
  const fresh = (req: CompiledRequirements, credential: JudgedCredential, request?: ConditionInput) =>
    evaluateTimelessRequirements(req, judgedSubject(identity, credential, clock, request));

  function timeless(
    req: CompiledRequirements,
    credential: JudgedCredential,
    request: ConditionInput | undefined,
  ): RequirementOutcome {
    // A deny rule reading the request makes the answer the request's too: never kept, never reused.
    if (req.readsRequest === true) return fresh(req, credential, request);
    if (!credential.keepAnswer) return fresh(req, credential);
    // Entries are made for frozen claims only (below), so a found entry needs no second look.
    const entry = kept.get(credential.claims);
    if (entry === undefined) {
      // Only claims that cannot change are kept for: the verifiers deep-freeze a token's claims and API
      // keys' and certificate clients' are frozen at start; a session's are not frozen, and stay fresh.
      const outcome = fresh(req, credential);
      if (Object.isFrozen(credential.claims))
        kept.set(credential.claims, { provider: credential.provider, req, outcome: Object.freeze(outcome) });
      return outcome;
    }
    // Roles and groups are read per provider: claims met under another provider are judged afresh.
    if (entry.provider !== credential.provider) return fresh(req, credential);
    if (entry.req === req) return entry.outcome;
    const known = entry.more?.get(req);
    if (known !== undefined) return known;
    const outcome = Object.freeze(fresh(req, credential));
    entry.more ??= new Map();
    if (entry.more.size < KEPT_ROUTES_PER_CREDENTIAL) entry.more.set(req, outcome);
    return outcome;
  }

  return {
    judge(req, credential, request) {
      const outcome = timeless(req, credential, request);
      if (!outcome.ok || req.stepUp === null || req.stepUp.maxAge === null) return outcome;
      return evaluateMaxAge(req, { claims: credential.claims, now: Math.floor(clock.now() / 1000) });
    },
  };
}
