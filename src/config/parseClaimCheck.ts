// Parses a `claims` requirement tree: `{all: [...]}` / `{any: [...]}` / `{not: {...}}` nodes over
// leaves `{claim, <operator>}` (operators and their operands: parseClaimOperator.ts). Recursive, so a
// custom schema node; depth and width are bounded so a check costs at most a few dozen comparisons.

import type { CustomReport, CustomResult } from "./configSchema.ts";
import { claimPath } from "./configFormats.ts";
import { NON_BLANK_PATTERN, type JsonSchema } from "./JsonSchema.ts";
import { keyPath } from "./keyPath.ts";
import {
  CLAIM_OPERATORS,
  claimOperandJsonSchema,
  parseClaimOperand,
  type ClaimLeafConfig,
  type ClaimOperator,
} from "./parseClaimOperator.ts";
import { unknownKeyMessage } from "./unknownKeyMessage.ts";

export type { ClaimValue, ClaimLeafConfig, ClaimOperator } from "./parseClaimOperator.ts";

/** A tree of claim checks: `all` / `any` / `not` nodes over leaves with exactly one operator. */
export type ClaimCheckConfig =
  | { readonly all: readonly ClaimCheckConfig[] }
  | { readonly any: readonly ClaimCheckConfig[] }
  | { readonly not: ClaimCheckConfig }
  | ClaimLeafConfig;

const MAX_DEPTH = 6;
const MAX_ITEMS = 32;
const OPERATORS: readonly ClaimOperator[] = CLAIM_OPERATORS;
const BRANCHES = ["all", "any", "not"] as const;
const SHAPES = `{all: [...]}, {any: [...]}, {not: {...}}, or {claim: <path>, ${OPERATORS.join(" | ")}: ...}`;

const CLAIM_CHECK_REF = "#/definitions/claimCheck";
const claimBranch = (kind: "all" | "any"): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  required: [kind],
  properties: { [kind]: { type: "array", minItems: 1, maxItems: MAX_ITEMS, items: { $ref: CLAIM_CHECK_REF } } },
});

/** What parseClaimCheck accepts, as JSON Schema: the tree is recursive, so it is a definition of its own. */
export const claimCheckJsonSchema: JsonSchema = { anyOf: [{ type: "null" }, { $ref: CLAIM_CHECK_REF }] };
export const claimCheckJsonSchemaDefs: Readonly<Record<string, JsonSchema>> = {
  claimCheck: {
    description: `\`{all: [...]}\`, \`{any: [...]}\`, \`{not: {...}}\` (nestable, at most ${MAX_DEPTH} levels: check-config counts them) or a leaf \`{claim: <path>}\` with exactly one of ${OPERATORS.map((op) => `\`${op}\``).join(", ")}.`,
    oneOf: [
      claimBranch("all"),
      claimBranch("any"),
      {
        type: "object",
        additionalProperties: false,
        required: ["not"],
        properties: { not: { $ref: CLAIM_CHECK_REF } },
      },
      {
        type: "object",
        additionalProperties: false,
        required: ["claim"],
        properties: { claim: { type: "string", pattern: NON_BLANK_PATTERN }, ...claimOperandJsonSchema },
        oneOf: OPERATORS.map((op) => ({ required: [op] })),
      },
    ],
  },
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseBranch(
  kind: "all" | "any",
  value: unknown,
  path: string,
  report: CustomReport,
  depth: number,
): ClaimCheckConfig | undefined {
  const at = keyPath(path, kind);
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ITEMS) {
    report(at, `must be a list of 1..${MAX_ITEMS} claim checks`, { value });
    return undefined;
  }
  const items: ClaimCheckConfig[] = [];
  let ok = true;
  value.forEach((item, index) => {
    const parsed = parseNode(item, keyPath(at, index), report, depth + 1);
    if (parsed === undefined) ok = false;
    else items.push(parsed);
  });
  if (!ok) return undefined;
  return kind === "all" ? { all: items } : { any: items };
}

function parseLeaf(raw: Record<string, unknown>, path: string, report: CustomReport): ClaimCheckConfig | undefined {
  let ok = true;
  for (const key of Object.keys(raw)) {
    if (key !== "claim" && !(OPERATORS as readonly string[]).includes(key)) {
      const text = `claim, ${OPERATORS.join(", ")}; or all / any / not alone`;
      report(keyPath(path, key), unknownKeyMessage(key, ["claim", ...OPERATORS, ...BRANCHES], text));
      ok = false;
    }
  }
  const claim = raw["claim"];
  if (!Object.hasOwn(raw, "claim")) {
    report(keyPath(path, "claim"), `is required: each check is ${SHAPES}`);
    ok = false;
  } else if (typeof claim !== "string") {
    report(keyPath(path, "claim"), "must be a claim path such as tenant or org.tier", { value: claim });
    ok = false;
  } else {
    const format = claimPath.parse(claim);
    if (!format.ok) {
      report(keyPath(path, "claim"), format.message, { value: claim });
      ok = false;
    }
  }
  const ops = OPERATORS.filter((op) => Object.hasOwn(raw, op));
  if (ops.length > 1) {
    report(path, `has ${ops.join(" and ")}: use exactly one operator per check (combine checks with all / any)`);
    return undefined;
  }
  if (ops.length === 0) {
    // An unknown key (a typo such as `equal`) already says what is wrong.
    if (ok) report(path, `needs one operator: ${OPERATORS.join(", ")}`);
    return undefined;
  }
  const op = ops[0] as ClaimOperator;
  if (!ok || typeof claim !== "string") return undefined;
  const operand = parseClaimOperand(op, raw[op], keyPath(path, op), report);
  // The operand's type follows the operator (parseClaimOperand's contract).
  return operand === undefined ? undefined : ({ claim, [op]: operand } as ClaimLeafConfig);
}

function parseNode(value: unknown, path: string, report: CustomReport, depth: number): ClaimCheckConfig | undefined {
  if (depth > MAX_DEPTH) {
    report(path, `nests deeper than ${MAX_DEPTH} levels; flatten the tree`);
    return undefined;
  }
  if (!isPlainObject(value)) {
    report(path, `must be a mapping: ${SHAPES}`, { value });
    return undefined;
  }
  const branches = BRANCHES.filter((k) => Object.hasOwn(value, k));
  if (branches.length > 0) {
    const extra = Object.keys(value).filter((k) => k !== branches[0]);
    if (extra.length > 0) {
      report(
        path,
        `has ${[branches[0], ...extra].join(" and ")}: a check is either all, any, not, or a claim leaf; nest them instead`,
      );
      return undefined;
    }
    if (branches[0] === "not") {
      const inner = parseNode(value["not"], keyPath(path, "not"), report, depth + 1);
      return inner === undefined ? undefined : { not: inner };
    }
    return parseBranch(branches[0] as "all" | "any", value[branches[0] as string], path, report, depth);
  }
  return parseLeaf(value, path, report);
}

export function parseClaimCheck(
  value: unknown,
  path: string,
  report: CustomReport,
): CustomResult<ClaimCheckConfig | null> {
  if (value === null) return { ok: true, value: null };
  const parsed = parseNode(value, path, report, 1);
  return parsed === undefined ? { ok: false } : { ok: true, value: parsed };
}

/** The `claims` key of a requirement and of a deny rule's `when`: one claim check tree, null when not given. */
export function claimCheckNode(description: string) {
  return {
    kind: "custom",
    typeLabel: "claim check tree",
    default: null,
    parse: parseClaimCheck,
    jsonSchema: claimCheckJsonSchema,
    jsonSchemaDefs: claimCheckJsonSchemaDefs,
    description,
  } as const;
}
