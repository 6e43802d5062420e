// Compiles a route's `require` block once at start-up into the shape evaluateRequirements reads;
// a block that requires nothing compiles to null, so an unconditioned route costs nothing per check.

import type { NameSetRequirement, RequirementsConfig } from "../config/PortcullisConfig.ts";
import { compileClaimCheck, type CompiledClaimCheck } from "./compileClaimCheck.ts";

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
}

function nameSet(set: NameSetRequirement | null): NameSetRequirement | null {
  return set === null || (set.anyOf.length === 0 && set.allOf.length === 0) ? null : set;
}

export function compileRequirements(config: RequirementsConfig | undefined): CompiledRequirements | null {
  if (config === undefined) return null;
  const stepUp: StepUpRequirement | null =
    config.acr.length > 0 || config.amr.length > 0 || config.maxAge !== null
      ? { acr: config.acr.length > 0 ? config.acr : null, amr: config.amr, maxAge: config.maxAge }
      : null;
  const compiled: CompiledRequirements = {
    scopes: config.scopes,
    roles: nameSet(config.roles),
    groups: nameSet(config.groups),
    audiences: config.audiences,
    clients: config.clients.length > 0 ? new Set(config.clients) : null,
    principal: config.principal,
    claims: config.claims === null ? null : compileClaimCheck(config.claims),
    stepUp,
  };
  const empty =
    compiled.scopes.length === 0 &&
    compiled.roles === null &&
    compiled.groups === null &&
    compiled.audiences.length === 0 &&
    compiled.clients === null &&
    compiled.principal === "any" &&
    compiled.claims === null &&
    compiled.stepUp === null;
  return empty ? null : compiled;
}
