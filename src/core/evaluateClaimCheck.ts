// Evaluates a compiled claim-check tree against verified claims (each leaf's operator is a predicate
// made by compileClaimCheck). Returns null when the tree passes, else a log-safe description naming
// claims and operators only, never a value taken from the token: `email endsWith`, `not(group hasAny)`.

import { resolveClaim } from "../identity/resolveClaim.ts";
import type { CompiledClaimCheck } from "./compileClaimCheck.ts";

/** The check as written, for the failure of a `not` (its inner check passed). */
function describe(check: CompiledClaimCheck): string {
  switch (check.kind) {
    case "leaf":
      return `${check.claim} ${check.op}`;
    case "not":
      return `not(${describe(check.check)})`;
    default:
      return `${check.kind}(${check.checks.map(describe).join(", ")})`;
  }
}

export function failedClaimCheck(check: CompiledClaimCheck, claims: Readonly<Record<string, unknown>>): string | null {
  switch (check.kind) {
    case "leaf":
      return check.passes(resolveClaim(claims, check.segments)) ? null : `${check.claim} ${check.op}`;
    case "not":
      return failedClaimCheck(check.check, claims) === null ? `not(${describe(check.check)})` : null;
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
