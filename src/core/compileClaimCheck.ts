// Compiles a `claims` requirement tree once: claim paths split into segments, lists turned into sets,
// `matches` patterns compiled on the linear-time engine, and each leaf made a predicate on the claim's
// value, so a check costs a few property reads per leaf. Type confusion never passes a positive
// operator: a number never equals a string, a string never compares as a number, a list is a list.

import type { ClaimCheckConfig, ClaimLeafConfig, ClaimOperator, ClaimValue } from "../config/parseClaimCheck.ts";
import { compileLinearRegex, REGEX_INPUT_LIMIT } from "../config/compileLinearRegex.ts";
import { claimPathSegments } from "../identity/resolveClaim.ts";
import { foldAsciiCase } from "./foldAsciiCase.ts";

export type CompiledClaimCheck =
  | { readonly kind: "all" | "any"; readonly checks: readonly CompiledClaimCheck[] }
  | { readonly kind: "not"; readonly check: CompiledClaimCheck }
  | {
      readonly kind: "leaf";
      readonly claim: string;
      readonly segments: readonly string[];
      readonly op: ClaimOperator;
      /** Whether the claim's value (undefined when absent) passes the operator. */
      readonly passes: (value: unknown) => boolean;
    };

type Predicate = (value: unknown) => boolean;

function isScalar(value: unknown): value is ClaimValue {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/**
 * Whether a claim read as a set holds `name`: a list's string members, or a space-separated
 * string's words (`scope`), found in place without splitting, so a check allocates nothing.
 */
function setHas(value: unknown, name: string): boolean {
  if (Array.isArray(value)) return value.includes(name);
  if (typeof value !== "string") return false;
  for (let at = value.indexOf(name); at !== -1; at = value.indexOf(name, at + 1)) {
    const end = at + name.length;
    if ((at === 0 || value.charCodeAt(at - 1) === 0x20) && (end === value.length || value.charCodeAt(end) === 0x20))
      return true;
  }
  return false;
}

/** `value` ends with `suffix` (already ASCII-folded), comparing ASCII letters in either case, in place. */
function endsWithFolded(value: string, suffix: string): boolean {
  const offset = value.length - suffix.length;
  if (offset < 0) return false;
  for (let i = 0; i < suffix.length; i++) {
    let c = value.charCodeAt(offset + i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== suffix.charCodeAt(i)) return false;
  }
  return true;
}

const finite = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

function valuePredicate(op: ClaimOperator, operand: unknown): Predicate {
  switch (op) {
    case "equals":
      return (v) => v === operand;
    case "notEquals":
      return (v) => v !== operand;
    case "contains":
      return (v) => (Array.isArray(v) ? v.includes(operand) : v === operand);
    case "oneOf":
    case "notOneOf": {
      const values = new Set(operand as readonly ClaimValue[]);
      const inSet = (v: unknown): boolean => isScalar(v) && values.has(v);
      return op === "oneOf" ? inSet : (v) => !inSet(v);
    }
    case "exists":
      return (v) => (v !== undefined && v !== null) === operand;
    default:
      return comparePredicate(op, operand);
  }
}

function comparePredicate(op: ClaimOperator, operand: unknown): Predicate {
  switch (op) {
    case "matches": {
      const regex = compileLinearRegex(operand as string);
      return (v) => typeof v === "string" && v.length <= REGEX_INPUT_LIMIT && regex.test(v);
    }
    case "endsWith": {
      // ASCII case folded: domain names compare in either case, so `@EXAMPLE.com` is `@example.com`.
      const suffix = foldAsciiCase(operand as string);
      return (v) => typeof v === "string" && endsWithFolded(v, suffix);
    }
    case "greaterThan":
      return (v) => finite(v) && v > (operand as number);
    case "atLeast":
      return (v) => finite(v) && v >= (operand as number);
    case "lessThan":
      return (v) => finite(v) && v < (operand as number);
    case "atMost":
      return (v) => finite(v) && v <= (operand as number);
    case "hasAll":
    case "hasAny":
    case "hasNone": {
      const wanted = operand as readonly string[];
      if (op === "hasAll") return (v) => wanted.every((name) => setHas(v, name));
      const any = (v: unknown): boolean => wanted.some((name) => setHas(v, name));
      return op === "hasAny" ? any : (v) => !any(v);
    }
    default:
      throw new Error(`claim operator ${op}: not compiled`);
  }
}

/** The leaf's one operator and its operand. */
export function leafOperator(leaf: ClaimLeafConfig): [ClaimOperator, unknown] {
  const op = Object.keys(leaf).find((key) => key !== "claim") as ClaimOperator;
  return [op, (leaf as unknown as Record<string, unknown>)[op]];
}

export function compileClaimCheck(check: ClaimCheckConfig): CompiledClaimCheck {
  if ("all" in check) return { kind: "all", checks: check.all.map(compileClaimCheck) };
  if ("any" in check) return { kind: "any", checks: check.any.map(compileClaimCheck) };
  if ("not" in check) return { kind: "not", check: compileClaimCheck(check.not) };
  const [op, operand] = leafOperator(check);
  return {
    kind: "leaf",
    claim: check.claim,
    segments: claimPathSegments(check.claim),
    op,
    passes: valuePredicate(op, operand),
  };
}
