// Evaluates a compiled claim-check tree against verified claims. Values compare by type and value
// (`5` never equals `"5"`); `contains` reads a list claim, or a single value as a list of one.
// Returns null when the tree passes, else a log-safe description naming claims and operators only.

import { resolveClaim } from "../identity/resolveClaim.ts";
import type { CompiledClaimCheck } from "./compileClaimCheck.ts";

type Leaf = Extract<CompiledClaimCheck, { kind: "leaf" }>;

function leafPasses(leaf: Leaf, claims: Readonly<Record<string, unknown>>): boolean {
  const value = resolveClaim(claims, leaf.segments);
  switch (leaf.op) {
    case "equals":
      return value === leaf.value;
    case "contains":
      return Array.isArray(value) ? value.includes(leaf.value) : value === leaf.value;
    case "oneOf":
      return (
        (typeof value === "string" || typeof value === "number" || typeof value === "boolean") && leaf.values.has(value)
      );
    case "exists":
      return (value !== undefined && value !== null) === leaf.present;
  }
}

export function failedClaimCheck(check: CompiledClaimCheck, claims: Readonly<Record<string, unknown>>): string | null {
  switch (check.kind) {
    case "leaf":
      return leafPasses(check, claims) ? null : `${check.claim} ${check.op}`;
    case "all": {
      for (const child of check.checks) {
        const failed = failedClaimCheck(child, claims);
        if (failed !== null) return failed;
      }
      return null;
    }
    case "any": {
      const failures: string[] = [];
      for (const child of check.checks) {
        const failed = failedClaimCheck(child, claims);
        if (failed === null) return null;
        failures.push(failed);
      }
      return `none of any(${failures.join(" | ")})`;
    }
  }
}
