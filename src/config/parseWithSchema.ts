// Walks raw YAML data against a schema node: type checks, enums, limits, formats, unknown keys and
// defaults, collecting every problem rather than stopping at the first. It knows no particular key;
// cross-field rules live in checkConfigRules.ts. Secret values are never quoted in messages.

import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";
import { setOwn } from "./setOwn.ts";
import { unknownKeyMessage } from "./unknownKeyMessage.ts";
import { envScalar, envSourceNote } from "./envScalar.ts";
import type {
  BooleanNode,
  IntegerNode,
  ListNode,
  MapNode,
  ObjectNode,
  SchemaNode,
  StringNode,
} from "./configSchema.ts";
import type { SchemaOutput } from "./SchemaOutput.ts";

export interface ParseContext {
  readonly problems: ConfigIssue[];
  /** Paths whose value must not be quoted (e.g. it came from an environment variable). */
  readonly secretPaths: ReadonlySet<string>;
  /** The environment variables each substituted path's value came from (integer and boolean keys read them). */
  readonly envVariables?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Marks a scalar or wrongly-typed value that failed. Containers keep going and return what did
 * parse (lists keep positions, with undefined holes) so that cross-field rules can still run and
 * every problem is reported at once; the caller trusts the output only when no problem was found.
 */
export const INVALID: unique symbol = Symbol("invalid");
export type Parsed = unknown;

const GOT_LIMIT = 60;

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") {
    // A URL's user and password never reach an error message, whatever key it was written under.
    const shown = value.replace(/(\/\/)[^/@\s]*@/g, "$1***@");
    return shown.length > GOT_LIMIT ? `${JSON.stringify(shown.slice(0, GOT_LIMIT))}…` : JSON.stringify(shown);
  }
  return String(value).slice(0, GOT_LIMIT);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function report(
  ctx: ParseContext,
  node: SchemaNode | null,
  path: string,
  message: string,
  value: unknown,
): typeof INVALID {
  const secret = node?.secret === true || ctx.secretPaths.has(path);
  ctx.problems.push({ path, message: secret ? message : `${message} (got ${describeValue(value)})` });
  return INVALID;
}

/**
 * The whole walk from the top, its output typed from the schema (SchemaOutput.ts): the walk builds
 * exactly that shape when it records no problem; with problems it is partial (see INVALID).
 */
export function parseWithSchema<N extends SchemaNode>(
  node: N,
  value: unknown,
  ctx: ParseContext,
): SchemaOutput<N> | typeof INVALID {
  return parseNode(node, value, "", ctx) as SchemaOutput<N> | typeof INVALID;
}

export function parseNode(node: SchemaNode, value: unknown, path: string, ctx: ParseContext): Parsed {
  switch (node.kind) {
    case "string":
      return parseString(node, value, path, ctx);
    case "integer":
    case "boolean":
      return parseScalar(node, value, path, ctx);
    case "list":
      return parseList(node, value, path, ctx);
    case "object":
      return parseObject(node, value, path, ctx);
    case "map":
      return parseMap(node, value, path, ctx);
    case "custom": {
      const result = node.parse(value, path, (at, message, got) => {
        if (got === undefined) ctx.problems.push({ path: at, message });
        else report(ctx, node, at, message, got.value);
      });
      return result.ok ? result.value : INVALID;
    }
  }
}

/**
 * An integer or boolean key. Written as `${NAME}` it arrives as a string: the variable's text is
 * read as the number or boolean (envScalar.ts); messages then name the variable, never its value.
 */
function parseScalar(node: IntegerNode | BooleanNode, raw: unknown, path: string, ctx: ParseContext): Parsed {
  const names = typeof raw === "string" ? ctx.envVariables?.get(path) : undefined;
  const from = envSourceNote(names);
  const value = names !== undefined && typeof raw === "string" ? (envScalar(node.kind, raw) ?? raw) : raw;
  if (node.kind === "boolean")
    return typeof value === "boolean" ? value : report(ctx, node, path, `must be true or false${from}`, value);
  if (typeof value !== "number" || !Number.isInteger(value))
    return report(ctx, node, path, `must be an integer${from}`, value);
  if (value < node.min || value > node.max)
    return report(ctx, node, path, `must be ${node.min}..${node.max}${from}`, value);
  return value;
}

function parseString(node: StringNode, value: unknown, path: string, ctx: ParseContext): Parsed {
  if (value === null && node.nullable === true) return null;
  if (typeof value !== "string")
    return report(ctx, node, path, node.nullable ? "must be a string or null" : "must be a string", value);
  if (node.enum && !node.enum.includes(value))
    return report(ctx, node, path, `must be one of ${node.enum.join(", ")}`, value);
  if (node.pattern && !node.pattern.test(value))
    return report(ctx, node, path, `must match ${node.pattern.source}`, value);
  if (node.format) {
    const result = node.format.parse(value);
    if (!result.ok) return report(ctx, node, path, result.message, value);
    return result.value;
  }
  return value;
}

function parseList(node: ListNode, value: unknown, path: string, ctx: ParseContext): Parsed {
  if (value === null && node.nullable === true) return null;
  const single = node.acceptSingle === true && !Array.isArray(value) && value !== null && typeof value !== "object";
  const items = single ? [value] : value;
  if (!Array.isArray(items)) {
    const expected = node.acceptSingle ? "must be a string or a list" : "must be a list";
    return report(ctx, node, path, node.nullable ? `${expected} or null` : expected, value);
  }
  if (node.nonEmpty === true && items.length === 0) {
    ctx.problems.push({ path, message: "must not be empty" });
    return INVALID;
  }
  const out: unknown[] = [];
  items.forEach((item, index) => {
    // A single value written without brackets is reported at the key itself, as the user wrote it.
    const itemPath = single ? path : keyPath(path, index);
    const parsed = parseNode(node.items, item, itemPath, ctx);
    if (parsed === INVALID) {
      out.push(undefined);
    } else if (node.unique === true && typeof parsed === "string" && out.includes(parsed)) {
      report(ctx, node.items, itemPath, "duplicate value", parsed);
      out.push(undefined);
    } else {
      out.push(parsed);
    }
  });
  return out;
}

/** Value for a missing key: the schema default (parsed like user input), or {} for an object. */
function missing(node: SchemaNode, path: string, ctx: ParseContext): Parsed {
  if (node.required === true) {
    ctx.problems.push({ path, message: "is required" });
    return INVALID;
  }
  if ("default" in node) return parseNode(node, node.default, path, ctx);
  if (node.kind === "object") return parseObject(node, {}, path, ctx);
  throw new Error(`schema bug: optional key ${path} has no default`);
}

function parseObject(node: ObjectNode, value: unknown, path: string, ctx: ParseContext): Parsed {
  // An empty YAML section (`identity:` with everything commented out) reads as null: treat as {}.
  const raw = value === null && node.required !== true ? {} : value;
  if (!isPlainObject(raw)) return report(ctx, node, path === "" ? "(root)" : path, "must be a mapping", value);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.fields)) {
    const childPath = keyPath(path, key);
    const parsed = Object.hasOwn(raw, key)
      ? parseNode(child, raw[key], childPath, ctx)
      : missing(child, childPath, ctx);
    if (parsed !== INVALID) setOwn(out, child.outputKey ?? key, parsed);
  }
  const allowed = Object.keys(node.fields);
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      ctx.problems.push({ path: keyPath(path, key), message: unknownKeyMessage(key, allowed) });
    }
  }
  return out;
}

function parseMap(node: MapNode, value: unknown, path: string, ctx: ParseContext): Parsed {
  const raw = value === null ? {} : value;
  if (!isPlainObject(raw)) return report(ctx, node, path, "must be a mapping", value);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(raw)) {
    const itemPath = keyPath(path, key);
    // Keys are names, never secrets: quoting them is safe and makes typos obvious.
    if (node.keyPattern && !node.keyPattern.test(key)) {
      ctx.problems.push({
        path: itemPath,
        message: `name must match ${node.keyPattern.source} (got ${describeValue(key)})`,
      });
      continue;
    }
    if (node.keyFormat) {
      const result = node.keyFormat.parse(key);
      if (!result.ok) {
        ctx.problems.push({ path: itemPath, message: `${result.message} (got ${describeValue(key)})` });
        continue;
      }
    }
    const parsed = parseNode(node.values, item, itemPath, ctx);
    if (parsed !== INVALID)
      setOwn(
        out,
        key,
        node.keyInto !== undefined && isPlainObject(parsed) ? { [node.keyInto]: key, ...parsed } : parsed,
      );
  }
  return out;
}
