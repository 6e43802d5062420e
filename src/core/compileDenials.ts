// Compiles a route's `deny` rules once: a rule without a `when` denies every request the route
// matches (answered before any credential is read), the others become conditions judged on the
// verified caller before the route's requirements (evaluateDenials.ts).

import type { DenyRuleConfig } from "../config/PortcullisConfig.ts";
import type { DenyStatus } from "../config/denyRuleSchema.ts";
import { compileClaimCheck, type CompiledClaimCheck } from "./compileClaimCheck.ts";
import { compileRequestConditions, type ConditionOptions, type RequestConditions } from "./compileRequestConditions.ts";

/** When a deny rule applies: every part that is not null must hold. */
export interface CompiledDenyCondition {
  readonly scopes: readonly string[] | null;
  readonly clients: ReadonlySet<string> | null;
  readonly groups: readonly string[] | null;
  readonly roles: readonly string[] | null;
  readonly claims: CompiledClaimCheck | null;
  /** Conditions on the request itself (`when.request`). */
  readonly request: RequestConditions | null;
}

export interface CompiledDenial {
  /** The configured code the client reads (the metric reason is `policy_denied`). */
  readonly code: string;
  readonly status: DenyStatus;
  /** Position in the route's `deny` list, for logs and explain. */
  readonly index: number;
  /** null: every request the route matches. */
  readonly when: CompiledDenyCondition | null;
}

const orNull = <T>(list: readonly T[] | undefined): readonly T[] | null =>
  list === undefined || list.length === 0 ? null : list;

export function compileDenial(rule: DenyRuleConfig, index: number, options: ConditionOptions = {}): CompiledDenial {
  const when = rule.when;
  const condition: CompiledDenyCondition | null =
    when === undefined
      ? null
      : {
          scopes: orNull(when.scopes),
          clients: orNull(when.clients) === null ? null : new Set(when.clients),
          groups: orNull(when.groups),
          roles: orNull(when.roles),
          claims: when.claims === null || when.claims === undefined ? null : compileClaimCheck(when.claims),
          request:
            when.request === undefined
              ? null
              : compileRequestConditions(when.request, { ...options, unreadableHolds: true }),
        };
  const empty =
    condition === null ||
    (condition.scopes === null &&
      condition.clients === null &&
      condition.groups === null &&
      condition.roles === null &&
      condition.claims === null &&
      condition.request === null);
  return { code: rule.code ?? "policy_denied", status: rule.status ?? 403, index, when: empty ? null : condition };
}

/** The route's deny rules: the first unconditional one (check-config makes it the only one), and the conditional ones. */
export function compileDenials(
  rules: readonly DenyRuleConfig[] | undefined,
  options: ConditionOptions = {},
): {
  readonly always: CompiledDenial | null;
  readonly conditional: readonly CompiledDenial[];
} {
  const compiled = (rules ?? []).map((rule, index) => compileDenial(rule, index, options));
  return {
    always: compiled.find((d) => d.when === null) ?? null,
    conditional: compiled.filter((d) => d.when !== null),
  };
}
