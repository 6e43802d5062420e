// `require.request` compiled once: the policy defaults' request conditions (where the rule takes the
// defaults) and the rule's own, both of which must hold. A rule with neither compiles to null and the
// gate does no work for it.
import type { RequestConditionConfig, ConditionOptions, RequestConditions } from "./compileRequestConditions.ts";
import { compileRequestConditions } from "./compileRequestConditions.ts";

export function compileRequestRequirement(
  own: RequestConditionConfig | undefined,
  defaults: RequestConditionConfig | undefined,
  options: ConditionOptions,
): RequestConditions | null {
  const first = defaults === undefined ? null : compileRequestConditions(defaults, options);
  const second = own === undefined ? null : compileRequestConditions(own, options);
  if (first === null || second === null) return first ?? second;
  return (request) => first(request) ?? second(request);
}
