// Cross-field rules of the route requirement language: deny rules that could never be read or never
// apply, claim checks that contradict themselves, a rule's `require` that cannot hold beside
// `policy.defaults.require`, and a rule opting out of the defaults (a warning). Reads the possibly
// partial parser output; the deny codes' collision with built-in codes is core/checkDenyCodes.ts.

import { claimCheckContradictions, looseSuffixes } from "./claimCheckContradictions.ts";
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import type { PartialRoute } from "./checkRouteRules.ts";
import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";
import type { ClaimCheckConfig } from "./parseClaimCheck.ts";
import { requestConditionsGiven } from "./requestConditionsGiven.ts";

type PartialWhen = NonNullable<NonNullable<NonNullable<PartialRoute["deny"]>[number]>["when"]>;

/** A deny rule's `when` that names nothing: the rule denies every request its route matches. */
export function whenIsEmpty(when: PartialWhen | undefined): boolean {
  if (when === undefined) return true;
  const lists = [when.scopes, when.clients, when.groups, when.roles];
  return (
    lists.every((list) => list === undefined || list.length === 0) &&
    (when.claims ?? null) === null &&
    !requestConditionsGiven(when.request)
  );
}

function hasOwnRequirements(require: PartialRoute["require"]): boolean {
  if (require === undefined) return false;
  return Object.entries(require).some(([key, value]) => {
    if (key === "principal") return value !== "any" && value !== undefined;
    if (key === "request") return requestConditionsGiven(value as Parameters<typeof requestConditionsGiven>[0]);
    if (Array.isArray(value)) return value.length > 0;
    return value !== null && value !== undefined;
  });
}

/** Contradictions are problems; a loose `endsWith` suffix a warning. */
function checkClaims(tree: unknown, path: string, { problems, warnings }: RuleFindings): void {
  // A claims tree parses whole or not at all (a custom node), so a present one is complete.
  const parsed = tree as ClaimCheckConfig | null | undefined;
  problems.push(...claimCheckContradictions(parsed, path));
  warnings.push(...looseSuffixes(parsed, path));
}

function checkDeny(route: PartialRoute, path: string, auth: string | null | undefined, findings: RuleFindings): void {
  const { problems } = findings;
  const rules = route.deny ?? [];
  const always = rules.findIndex((rule) => rule !== undefined && whenIsEmpty(rule.when));
  if (always !== -1 && rules.length > 1)
    problems.push({
      path: keyPath(path, "deny"),
      message: `deny[${always}] has no when, so it denies every request the route matches and the other deny rules are never read; keep only it, or give it a when`,
    });
  if (always !== -1 && hasOwnRequirements(route.require))
    problems.push({
      path: keyPath(path, "require"),
      message: `is never read: deny[${always}] has no when and denies every request the route matches; remove require, or give the deny rule a when`,
    });
  rules.forEach((rule, i) => {
    if (rule === undefined) return;
    const at = keyPath(keyPath(path, "deny"), i);
    if (!whenIsEmpty(rule.when) && auth === "public")
      problems.push({
        path: keyPath(at, "when"),
        message:
          "reads the caller, but the route is public so nobody is identified and it never applies; set auth: required (or optional), or remove when to deny every request",
      });
    checkClaims(rule.when?.claims, keyPath(keyPath(at, "when"), "claims"), findings);
  });
}

/** The rule's own require cannot hold beside the defaults': opposite principals, or no acr both accept. */
function checkAgainstDefaults(
  require: PartialRoute["require"],
  defaults: NonNullable<NonNullable<PartialConfig["policy"]>["defaults"]>["require"],
  path: string,
  problems: ConfigIssue[],
): void {
  if (require === undefined || defaults === undefined) return;
  const mine = require.principal ?? "any";
  const theirs = defaults.principal ?? "any";
  if (mine !== "any" && theirs !== "any" && mine !== theirs)
    problems.push({
      path: keyPath(keyPath(path, "require"), "principal"),
      message: `is ${mine} but policy.defaults.require.principal is ${theirs}, so nobody can pass; remove one, or set defaults: false on this route`,
    });
  const acr = (require.acr ?? []).filter((v) => v !== undefined);
  const defaultAcr = (defaults.acr ?? []).filter((v) => v !== undefined);
  if (acr.length > 0 && defaultAcr.length > 0 && !acr.some((v) => defaultAcr.includes(v)))
    problems.push({
      path: keyPath(keyPath(path, "require"), "acr"),
      message: `shares no value with policy.defaults.require.acr (${defaultAcr.join(", ")}), so no authentication can pass both; list one they both accept`,
    });
}

export function checkPolicyRules(config: PartialConfig, findings: RuleFindings): void {
  const { problems, warnings } = findings;
  const mode = config.policy?.mode;
  const modeDefault = mode === "whitelist" ? "public" : mode === "blacklist" ? "required" : null;
  const defaults = config.policy?.defaults?.require;
  const defaultsSet = hasOwnRequirements(defaults);
  checkClaims(defaults?.claims, "policy.defaults.require.claims", findings);
  (config.routes ?? []).forEach((route, index) => {
    if (route === undefined) return;
    const path = keyPath("routes", index);
    const auth = route.auth === null ? modeDefault : route.auth;
    checkDeny(route, path, auth, findings);
    checkClaims(route.require?.claims, keyPath(keyPath(path, "require"), "claims"), findings);
    if (!defaultsSet || auth === "public") return;
    if (route.defaults === false)
      warnings.push({
        path: keyPath(path, "defaults"),
        message:
          "is false: this rule does not ask policy.defaults.require of its callers, so it is weaker than the policy says; remove it unless the route must serve callers who cannot meet the defaults",
      });
    else checkAgainstDefaults(route.require, defaults, path, problems);
  });
}
