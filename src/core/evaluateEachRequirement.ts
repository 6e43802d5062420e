// Each part of a route's requirements on its own, for `portcullis explain`: which passed and which
// failed, where the Check path stops at the first failure. Every part is judged by
// evaluateRequirements itself, on requirements holding that part alone, so the two cannot disagree.
import { NO_COMPILED_REQUIREMENTS as NONE, type CompiledRequirements } from "./compileRequirements.ts";
import { evaluateRequirements, type RequirementSubject } from "./evaluateRequirements.ts";

/** The parts a route sets, in the order evaluateRequirements checks them: deny rules, defaults, its own. */
function partsOf(req: CompiledRequirements): [string, Partial<CompiledRequirements>][] {
  const parts: [string, Partial<CompiledRequirements>][] = [];
  for (const denial of req.denials ?? []) parts.push([`deny[${denial.index}] ${denial.code}`, { denials: [denial] }]);
  if (req.defaults !== undefined)
    for (const [part, only] of partsOf(req.defaults))
      parts.push([`defaults ${part}`, { defaults: { ...NONE, ...only } }]);
  if (req.principal !== "any") parts.push(["principal", { principal: req.principal }]);
  if (req.clients !== null) parts.push(["clients", { clients: req.clients }]);
  if (req.audiences.length > 0) parts.push(["audiences", { audiences: req.audiences }]);
  if (req.roles !== null) parts.push(["roles", { roles: req.roles }]);
  if (req.groups !== null) parts.push(["groups", { groups: req.groups }]);
  if (req.claims !== null) parts.push(["claims", { claims: req.claims }]);
  if (req.scopes.length > 0) parts.push(["scopes", { scopes: req.scopes }]);
  if (req.stepUp !== null) parts.push(["step-up", { stepUp: req.stepUp }]);
  return parts;
}

/** One outcome per configured part: `detail` null when it passed, else why it failed. */
export function evaluateEachRequirement(
  req: CompiledRequirements,
  subject: RequirementSubject,
): { readonly part: string; readonly detail: string | null }[] {
  return partsOf(req).map(([part, only]) => {
    const outcome = evaluateRequirements({ ...NONE, ...only }, subject);
    return { part, detail: outcome.ok ? null : outcome.detail };
  });
}
