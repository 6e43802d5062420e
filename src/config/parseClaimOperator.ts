// The operators of a claim check leaf (`{claim: <path>, <operator>: <operand>}`) and how each
// operand is parsed: values compare by type, numbers only against numbers, `matches` runs on the
// linear-time regex engine and must be anchored, set operators read a list or a space-separated string.

import type { CustomReport } from "./configSchema.ts";
import { linearRegexProblem } from "./compileLinearRegex.ts";
import type { JsonSchema } from "./JsonSchema.ts";
import { keyPath } from "./keyPath.ts";

export type ClaimValue = string | number | boolean;

export const VALUE_OPERATORS = ["equals", "notEquals", "contains"] as const;
export const LIST_OPERATORS = ["oneOf", "notOneOf"] as const;
export const NUMBER_OPERATORS = ["greaterThan", "atLeast", "lessThan", "atMost"] as const;
export const SET_OPERATORS = ["hasAll", "hasAny", "hasNone"] as const;

/** Every leaf operator, in the order the reference lists them. */
export const CLAIM_OPERATORS = [
  ...VALUE_OPERATORS,
  ...LIST_OPERATORS,
  "exists",
  "matches",
  "endsWith",
  ...NUMBER_OPERATORS,
  ...SET_OPERATORS,
] as const;
export type ClaimOperator = (typeof CLAIM_OPERATORS)[number];

/** The operand each operator takes, after parsing. */
export interface ClaimOperands {
  readonly equals: ClaimValue;
  readonly notEquals: ClaimValue;
  readonly contains: ClaimValue;
  readonly oneOf: readonly ClaimValue[];
  readonly notOneOf: readonly ClaimValue[];
  readonly exists: boolean;
  readonly matches: string;
  readonly endsWith: string;
  readonly greaterThan: number;
  readonly atLeast: number;
  readonly lessThan: number;
  readonly atMost: number;
  readonly hasAll: readonly string[];
  readonly hasAny: readonly string[];
  readonly hasNone: readonly string[];
}

/** One leaf: the claim path and exactly one operator with its operand. */
export type ClaimLeafConfig = {
  [Op in ClaimOperator]: { readonly claim: string } & { readonly [K in Op]: ClaimOperands[Op] };
}[ClaimOperator];

export const MAX_LIST = 256;
/** Longest `matches` pattern; the same bound as a route's `pathRegex`. */
const MAX_PATTERN = 512;

function isClaimValue(value: unknown): value is ClaimValue {
  return (
    typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))
  );
}

function parseValue(value: unknown, path: string, report: CustomReport): ClaimValue | undefined {
  if (isClaimValue(value)) return value;
  report(path, "must be a string, number or boolean", { value });
  return undefined;
}

function parseList<T>(
  value: unknown,
  path: string,
  report: CustomReport,
  item: (v: unknown, at: string) => T | undefined,
): readonly T[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LIST) {
    report(path, `must be a list of 1..${MAX_LIST} values`, { value });
    return undefined;
  }
  const out: T[] = [];
  let good = true;
  value.forEach((v, index) => {
    const parsed = item(v, keyPath(path, index));
    if (parsed === undefined) good = false;
    else out.push(parsed);
  });
  return good ? out : undefined;
}

function parseSetName(value: unknown, path: string, report: CustomReport): string | undefined {
  if (typeof value === "string" && /^[\x21-\x7e]+$/.test(value)) return value;
  report(path, "must be a name without spaces (a set member, such as a scope)", { value });
  return undefined;
}

/** `matches`: anchored with ^ and $ (an unanchored `@example.com` would pass `x@example.com.evil`), linear-time. */
function parsePattern(value: unknown, path: string, report: CustomReport): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_PATTERN) {
    report(path, `must be a regular expression of 1..${MAX_PATTERN} characters`, { value });
    return undefined;
  }
  if (!value.startsWith("^") || !value.endsWith("$") || value.endsWith("\\$")) {
    report(path, 'must be anchored: start with "^" and end with "$" (the whole claim value must match)', { value });
    return undefined;
  }
  const problem = linearRegexProblem(value);
  if (problem !== null) {
    report(path, problem, { value });
    return undefined;
  }
  return value;
}

/** The operand of `op`, or undefined after reporting what is wrong at `path`. */
export function parseClaimOperand(op: ClaimOperator, value: unknown, path: string, report: CustomReport): unknown {
  switch (op) {
    case "equals":
    case "notEquals":
    case "contains":
      return parseValue(value, path, report);
    case "oneOf":
    case "notOneOf":
      return parseList(value, path, report, (v, at) => parseValue(v, at, report));
    case "hasAll":
    case "hasAny":
    case "hasNone":
      return parseList(value, path, report, (v, at) => parseSetName(v, at, report));
    case "exists":
      if (typeof value === "boolean") return value;
      report(path, "must be true (the claim must be present) or false (it must be absent)", { value });
      return undefined;
    case "matches":
      return parsePattern(value, path, report);
    case "endsWith":
      if (typeof value === "string" && value.length > 0 && value.trim() === value) return value;
      report(path, "must be a non-empty string without surrounding spaces, such as @example.com", { value });
      return undefined;
    case "greaterThan":
    case "atLeast":
    case "lessThan":
    case "atMost":
      if (typeof value === "number" && Number.isFinite(value)) return value;
      report(path, "must be a number (a claim compares only when it is a JSON number too)", { value });
      return undefined;
  }
}

const claimValue: JsonSchema = { type: ["string", "number", "boolean"] };
const list = (items: JsonSchema): JsonSchema => ({ type: "array", minItems: 1, maxItems: MAX_LIST, items });

/** The JSON Schema of each operator's operand. */
export const claimOperandJsonSchema: Readonly<Record<ClaimOperator, JsonSchema>> = {
  equals: claimValue,
  notEquals: claimValue,
  contains: claimValue,
  oneOf: list(claimValue),
  notOneOf: list(claimValue),
  exists: { type: "boolean" },
  matches: { type: "string", minLength: 2, maxLength: MAX_PATTERN, pattern: "^\\^[\\s\\S]*\\$$" },
  endsWith: { type: "string", minLength: 1 },
  greaterThan: { type: "number" },
  atLeast: { type: "number" },
  lessThan: { type: "number" },
  atMost: { type: "number" },
  hasAll: list({ type: "string", pattern: "^[\\x21-\\x7e]+$" }),
  hasAny: list({ type: "string", pattern: "^[\\x21-\\x7e]+$" }),
  hasNone: list({ type: "string", pattern: "^[\\x21-\\x7e]+$" }),
};
