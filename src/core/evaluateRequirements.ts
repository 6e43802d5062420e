// Checks a verified caller against a route's compiled requirements. Order: the route's deny rules
// (a denied caller is never asked for anything), then who the caller is, the policy defaults' parts first
// (principal, client, audience, roles, groups, claims → forbidden), then what the token grants
// (scopes → insufficient_scope), then how recently and strongly the person signed in (acr, amr,
// maxAge → step_up), so a new login is never asked for when it could not make the request pass.
// Everything but maxAge reads the caller alone (evaluateTimelessRequirements), so a credential whose
// claims never change may have that part judged once (createRequirementMemo); maxAge reads the clock.

import type { NameSetRequirement } from "../config/PortcullisConfig.ts";
import type { CompiledRequirements, StepUpRequirement } from "./compileRequirements.ts";
import type { RequirementOutcome } from "./RequirementOutcome.ts";
import { clientIdOf } from "./clientIdOf.ts";
import { failedClaimCheck } from "./evaluateClaimCheck.ts";
import { applyingDenial } from "./evaluateDenials.ts";
import { isMachinePrincipal } from "./isMachinePrincipal.ts";
import { readScopes } from "../identity/readScopes.ts";
import type { ConditionInput } from "./compileRequestConditions.ts";

export { clientIdOf, isMachinePrincipal };
export type { RequirementOutcome };

export interface RequirementSubject {
  /** Verified claims: the token's, or a session's (which must carry its `acr`, `amr`, `auth_time`). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Roles as the identity module reads them (the provider's role claims, else `identity.roleClaims`). */
  readonly roles: readonly string[];
  /** Groups as the identity module reads them; absent = the `groups` claim. */
  readonly groups?: readonly string[];
  /** Epoch seconds. */
  readonly now: number;
  /** The request, for deny rules' `when.request`. */
  readonly request?: ConditionInput;
}

const OK: RequirementOutcome = { ok: true };

function own(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}

function stringList(value: unknown): readonly string[] {
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** null when `have` satisfies the set; else a description naming the route's configured names. */
function failedNameSet(what: string, set: NameSetRequirement, have: readonly string[]): string | null {
  if (set.anyOf.length > 0 && !set.anyOf.some((name) => have.includes(name)))
    return `${what}: none of ${set.anyOf.join(", ")}`;
  const missing = set.allOf.filter((name) => !have.includes(name));
  return missing.length > 0 ? `${what}: missing ${missing.join(", ")}` : null;
}

function forbidden(detail: string): RequirementOutcome {
  return { ok: false, kind: "forbidden", detail };
}

/** acr and amr: what the sign-in was, never how long ago (maxAge is failedMaxAge's). */
function failedStepUp(stepUp: StepUpRequirement, claims: Readonly<Record<string, unknown>>): string | null {
  if (stepUp.acr !== null) {
    const acr = own(claims, "acr");
    if (typeof acr !== "string" || !stepUp.acr.includes(acr)) return `acr is not one of ${stepUp.acr.join(", ")}`;
  }
  if (stepUp.amr.length > 0) {
    const amr = stringList(own(claims, "amr"));
    const missing = stepUp.amr.filter((method) => !amr.includes(method));
    if (missing.length > 0) return `amr lacks ${missing.join(", ")}`;
  }
  return null;
}

function failedMaxAge(maxAge: number, claims: Readonly<Record<string, unknown>>, now: number): string | null {
  const authTime = own(claims, "auth_time");
  if (typeof authTime !== "number" || !Number.isFinite(authTime)) return "auth_time missing (maxAge set)";
  return now - authTime > maxAge ? `authentication older than maxAge ${maxAge} s` : null;
}

function stepUpOutcome(stepUp: StepUpRequirement, failed: string): RequirementOutcome {
  return { ok: false, kind: "step_up", acrValues: stepUp.acr, maxAge: stepUp.maxAge, detail: `step-up: ${failed}` };
}

export function evaluateRequirements(req: CompiledRequirements, subject: RequirementSubject): RequirementOutcome {
  const timeless = evaluateTimelessRequirements(req, subject);
  return timeless.ok ? evaluateMaxAge(req, subject) : timeless;
}

/**
 * The step-up's maxAge, the one part that reads the clock: judged after every other part passed
 * (evaluateTimelessRequirements), so together they answer as evaluateRequirements does.
 */
export function evaluateMaxAge(
  req: CompiledRequirements,
  subject: Pick<RequirementSubject, "claims" | "now">,
): RequirementOutcome {
  const stepUp = req.stepUp;
  if (stepUp === null || stepUp.maxAge === null) return OK;
  const failed = failedMaxAge(stepUp.maxAge, subject.claims, subject.now);
  return failed === null ? OK : stepUpOutcome(stepUp, failed);
}

/**
 * Every part but maxAge, in evaluateRequirements' order: the answer depends on the claims, roles
 * and groups alone (never on the time or the request), so for one unchanging caller it never changes.
 */
export function evaluateTimelessRequirements(
  req: CompiledRequirements,
  subject: Omit<RequirementSubject, "now">,
): RequirementOutcome {
  if (req.denials !== undefined) {
    const denial = applyingDenial(req.denials, subject);
    if (denial !== null)
      return { ok: false, kind: "denied", denial, detail: `deny[${denial.index}] ${denial.code}: its when holds` };
  }
  // The defaults hold only caller parts (their scopes and step-up are merged into req), so checking
  // them whole here keeps the order: every caller part before any scope or step-up.
  if (req.defaults !== undefined) {
    // The defaults carry no step-up (merged into req), so their whole answer is timeless.
    const outcome = evaluateTimelessRequirements(req.defaults, subject);
    if (!outcome.ok) return outcome.kind === "forbidden" ? forbidden(`defaults ${outcome.detail}`) : outcome;
  }
  const { claims } = subject;

  if (req.principal !== "any") {
    const machine = isMachinePrincipal(claims);
    if (req.principal === "user" && machine)
      return forbidden("principal: route admits people only, got a machine token");
    if (req.principal === "client" && !machine)
      return forbidden("principal: route admits machine clients only, got a person's token");
  }
  if (req.clients !== null) {
    const client = clientIdOf(claims);
    if (client === null) return forbidden("clients: token names no client_id or azp");
    if (!req.clients.has(client)) return forbidden("clients: the token's client is not one of the route's clients");
  }
  if (req.audiences.length > 0) {
    const aud = stringList(own(claims, "aud"));
    if (!req.audiences.some((a) => aud.includes(a)))
      return forbidden(`audiences: aud includes none of ${req.audiences.join(", ")}`);
  }
  if (req.roles !== null) {
    const failed = failedNameSet("roles", req.roles, subject.roles);
    if (failed !== null) return forbidden(failed);
  }
  if (req.groups !== null) {
    const failed = failedNameSet("groups", req.groups, subject.groups ?? stringList(own(claims, "groups")));
    if (failed !== null) return forbidden(failed);
  }
  if (req.claims !== null) {
    const failed = failedClaimCheck(req.claims, claims);
    if (failed !== null) return forbidden(`claims: ${failed}`);
  }

  if (req.scopes.length > 0) {
    const granted = readScopes(claims);
    const missing = req.scopes.filter((scope) => !granted.has(scope));
    if (missing.length > 0)
      return {
        ok: false,
        kind: "insufficient_scope",
        scopes: req.scopes,
        missing,
        detail: `scopes: missing ${missing.join(", ")}`,
      };
  }

  if (req.stepUp !== null) {
    const failed = failedStepUp(req.stepUp, claims);
    if (failed !== null) return stepUpOutcome(req.stepUp, failed);
  }
  return OK;
}
