// Judges a route's conditional deny rules on a verified caller: the first rule whose `when` holds
// (every part given) denies. List parts mean "any of": a blocked scope, client, group or role.
// Returns the rule that applies, or null.

import { clientIdOf } from "./clientIdOf.ts";
import type { CompiledDenial, CompiledDenyCondition } from "./compileDenials.ts";
import { failedClaimCheck } from "./evaluateClaimCheck.ts";
import { readScopes } from "../identity/readScopes.ts";
import type { ConditionInput } from "./compileRequestConditions.ts";

/** What a deny condition reads of the caller (a RequirementSubject). */
export interface DenialSubject {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly roles: readonly string[];
  readonly groups?: readonly string[];
  /** The request, for `when.request`; absent: such a condition does not hold. */
  readonly request?: ConditionInput;
}

function groupsOf(subject: DenialSubject): readonly string[] {
  if (subject.groups !== undefined) return subject.groups;
  const raw = Object.hasOwn(subject.claims, "groups") ? subject.claims["groups"] : undefined;
  if (typeof raw === "string") return [raw];
  return Array.isArray(raw) ? raw.filter((g): g is string => typeof g === "string") : [];
}

export function denyConditionHolds(when: CompiledDenyCondition, subject: DenialSubject): boolean {
  const { claims } = subject;
  if (when.clients !== null) {
    const client = clientIdOf(claims);
    if (client === null || !when.clients.has(client)) return false;
  }
  if (when.scopes !== null) {
    const granted = readScopes(claims);
    if (!when.scopes.some((scope) => granted.has(scope))) return false;
  }
  if (when.groups !== null) {
    const groups = groupsOf(subject);
    if (!when.groups.some((group) => groups.includes(group))) return false;
  }
  if (when.roles !== null && !when.roles.some((role) => subject.roles.includes(role))) return false;
  if (when.claims !== null && failedClaimCheck(when.claims, claims) !== null) return false;
  return when.request === null || (subject.request !== undefined && when.request(subject.request) === null);
}

export function applyingDenial(denials: readonly CompiledDenial[], subject: DenialSubject): CompiledDenial | null {
  for (const denial of denials) if (denial.when !== null && denyConditionHolds(denial.when, subject)) return denial;
  return null;
}
