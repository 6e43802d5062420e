// Compiles a `claims` requirement tree once: claim paths split into segments and `oneOf` lists
// turned into sets, so a check costs a few property reads per leaf.

import type { ClaimCheckConfig, ClaimValue } from "../config/PortcullisConfig.ts";
import { claimPathSegments } from "../identity/resolveClaim.ts";

export type CompiledClaimCheck =
  | { readonly kind: "all" | "any"; readonly checks: readonly CompiledClaimCheck[] }
  | {
      readonly kind: "leaf";
      readonly claim: string;
      readonly segments: readonly string[];
      readonly op: "equals" | "contains";
      readonly value: ClaimValue;
    }
  | {
      readonly kind: "leaf";
      readonly claim: string;
      readonly segments: readonly string[];
      readonly op: "oneOf";
      readonly values: ReadonlySet<ClaimValue>;
    }
  | {
      readonly kind: "leaf";
      readonly claim: string;
      readonly segments: readonly string[];
      readonly op: "exists";
      readonly present: boolean;
    };

export function compileClaimCheck(check: ClaimCheckConfig): CompiledClaimCheck {
  if ("all" in check) return { kind: "all", checks: check.all.map(compileClaimCheck) };
  if ("any" in check) return { kind: "any", checks: check.any.map(compileClaimCheck) };
  const leaf = { kind: "leaf" as const, claim: check.claim, segments: claimPathSegments(check.claim) };
  if ("equals" in check) return { ...leaf, op: "equals", value: check.equals };
  if ("contains" in check) return { ...leaf, op: "contains", value: check.contains };
  if ("oneOf" in check) return { ...leaf, op: "oneOf", values: new Set(check.oneOf) };
  return { ...leaf, op: "exists", present: check.exists };
}
