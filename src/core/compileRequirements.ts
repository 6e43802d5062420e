// Compiles a route's `require` block once at start-up into the shape evaluateRequirements reads,
// with the policy's `defaults.require` and the route's conditional deny rules beside it; a route that
// asks nothing compiles to null, so an unconditioned route costs nothing per check.
// Defaults merge exactly where one list can say both (scopes and amr add up, acr is the intersection,
// the smaller maxAge counts: one step-up challenge for both); the parts that read who the caller is
// stay a set of their own, checked before the route's.

import type { DefaultRequirementsConfig, NameSetRequirement, RequirementsConfig } from "../config/PortcullisConfig.ts";
import { compileClaimCheck, type CompiledClaimCheck } from "./compileClaimCheck.ts";
import type { CompiledDenial } from "./compileDenials.ts";

export interface StepUpRequirement {
  /** The `acr` must be one of these; null = any acr. */
  readonly acr: readonly string[] | null;
  /** Every one of these must be in `amr`. */
  readonly amr: readonly string[];
  /** Most seconds since `auth_time`; null = no limit. */
  readonly maxAge: number | null;
}

export interface CompiledRequirements {
  /** All of these scopes; empty = none required. */
  readonly scopes: readonly string[];
  readonly roles: NameSetRequirement | null;
  readonly groups: NameSetRequirement | null;
  /** `aud` must include one of these; empty = no audience check beyond the provider's. */
  readonly audiences: readonly string[];
  /** `client_id` (else `azp`) must be one of these; null = any client. */
  readonly clients: ReadonlySet<string> | null;
  readonly principal: "any" | "user" | "client";
  readonly claims: CompiledClaimCheck | null;
  /** null = no step-up condition. */
  readonly stepUp: StepUpRequirement | null;
  /** Conditional deny rules, judged first; absent = none. */
  readonly denials?: readonly CompiledDenial[];
  /**
   * true when a deny rule's `when.request` reads the request: the answer then depends on more than
   * the caller's claims, so it is never kept for a returning credential (createRequirementMemo).
   */
  readonly readsRequest?: true;
  /** The caller parts of `policy.defaults.require` (no scopes or step-up: merged above); absent = none. */
  readonly defaults?: CompiledRequirements;
}

type CallerRequirements = Omit<RequirementsConfig, "boundTokens"> | DefaultRequirementsConfig;

function nameSet(set: NameSetRequirement | null): NameSetRequirement | null {
  return set === null || (set.anyOf.length === 0 && set.allOf.length === 0) ? null : set;
}

function stepUpOf(config: CallerRequirements): StepUpRequirement | null {
  return config.acr.length > 0 || config.amr.length > 0 || config.maxAge !== null
    ? { acr: config.acr.length > 0 ? config.acr : null, amr: config.amr, maxAge: config.maxAge }
    : null;
}

/** Both step-ups at once: an acr both accept, every amr of both, the tighter maxAge. */
function mergeStepUp(a: StepUpRequirement | null, b: StepUpRequirement | null): StepUpRequirement | null {
  if (a === null || b === null) return a ?? b;
  const acr = a.acr === null ? b.acr : b.acr === null ? a.acr : a.acr.filter((v) => b.acr?.includes(v));
  const maxAge = a.maxAge === null ? b.maxAge : b.maxAge === null ? a.maxAge : Math.min(a.maxAge, b.maxAge);
  return { acr, amr: [...new Set([...a.amr, ...b.amr])], maxAge };
}

function compileSet(config: CallerRequirements): CompiledRequirements {
  return {
    scopes: config.scopes,
    roles: nameSet(config.roles),
    groups: nameSet(config.groups),
    audiences: config.audiences,
    clients: config.clients.length > 0 ? new Set(config.clients) : null,
    principal: config.principal,
    claims: config.claims === null ? null : compileClaimCheck(config.claims),
    stepUp: stepUpOf(config),
  };
}

function isEmpty(r: CompiledRequirements): boolean {
  return (
    r.scopes.length === 0 &&
    r.roles === null &&
    r.groups === null &&
    r.audiences.length === 0 &&
    r.clients === null &&
    r.principal === "any" &&
    r.claims === null &&
    r.stepUp === null &&
    (r.denials ?? []).length === 0 &&
    r.defaults === undefined
  );
}

export function compileRequirements(
  config: CallerRequirements | undefined,
  defaults: DefaultRequirementsConfig | null = null,
  denials: readonly CompiledDenial[] = [],
): CompiledRequirements | null {
  const own = config === undefined ? null : compileSet(config);
  const base = defaults === null ? null : compileSet(defaults);
  const callerDefaults = base === null ? null : { ...base, scopes: [], stepUp: null };
  const merged: CompiledRequirements = {
    ...(own ?? NO_COMPILED_REQUIREMENTS),
    scopes: [...new Set([...(base?.scopes ?? []), ...(own?.scopes ?? [])])],
    stepUp: mergeStepUp(base?.stepUp ?? null, own?.stepUp ?? null),
    ...(denials.length > 0 ? { denials } : {}),
    ...(denials.some((d) => d.when?.request != null) ? { readsRequest: true as const } : {}),
    ...(callerDefaults !== null && !isEmpty(callerDefaults) ? { defaults: callerDefaults } : {}),
  };
  return isEmpty(merged) ? null : merged;
}

/** Requirements with nothing required: the base each part is laid on (here and in explain's per-part judging). */
export const NO_COMPILED_REQUIREMENTS: CompiledRequirements = Object.freeze({
  scopes: [],
  roles: null,
  groups: null,
  audiences: [],
  clients: null,
  principal: "any",
  claims: null,
  stepUp: null,
});
