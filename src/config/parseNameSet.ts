// Parses `roles` / `groups` requirements: a list of names (any of them) or a mapping with `anyOf`
// and/or `allOf` lists. A custom schema node because the value is one of two shapes.

import type { CustomReport, CustomResult } from "./configSchema.ts";
import { NON_BLANK_PATTERN, type JsonSchema } from "./JsonSchema.ts";
import { keyPath } from "./keyPath.ts";
import { unknownKeyMessage } from "./unknownKeyMessage.ts";

/** `roles: [a, b]` is `{ anyOf: [a, b], allOf: [] }`; when both lists are given both must pass. */
export interface NameSetRequirement {
  readonly anyOf: readonly string[];
  readonly allOf: readonly string[];
}

const HOW = "write a list of names (any of them) or a mapping with anyOf and/or allOf lists";

const names: JsonSchema = {
  type: "array",
  minItems: 1,
  uniqueItems: true,
  items: { type: "string", pattern: NON_BLANK_PATTERN },
};

/** What parseNameSet accepts, as JSON Schema. */
export const nameSetJsonSchema: JsonSchema = {
  anyOf: [
    { type: "null" },
    names,
    {
      type: "object",
      additionalProperties: false,
      minProperties: 1,
      properties: { anyOf: names, allOf: names },
    },
  ],
};

function parseNames(value: unknown, path: string, report: CustomReport): string[] | null {
  if (!Array.isArray(value) || value.length === 0) {
    report(path, "must be a non-empty list of names", { value });
    return null;
  }
  const names: string[] = [];
  let ok = true;
  value.forEach((item, index) => {
    const at = keyPath(path, index);
    if (typeof item !== "string" || item.trim() === "" || item !== item.trim()) {
      report(at, "must be a non-empty name without surrounding spaces", { value: item });
      ok = false;
    } else if (names.includes(item)) {
      report(at, "duplicate value", { value: item });
      ok = false;
    } else names.push(item);
  });
  return ok ? names : null;
}

export function parseNameSet(
  value: unknown,
  path: string,
  report: CustomReport,
): CustomResult<NameSetRequirement | null> {
  if (value === null) return { ok: true, value: null };
  if (Array.isArray(value)) {
    const anyOf = parseNames(value, path, report);
    return anyOf === null ? { ok: false } : { ok: true, value: { anyOf, allOf: [] } };
  }
  if (typeof value !== "object") {
    report(path, `has the wrong type: ${HOW}`, { value });
    return { ok: false };
  }
  const raw = value as Record<string, unknown>;
  let ok = true;
  for (const key of Object.keys(raw)) {
    if (key !== "anyOf" && key !== "allOf") {
      report(keyPath(path, key), unknownKeyMessage(key, ["anyOf", "allOf"]));
      ok = false;
    }
  }
  const hasAny = Object.hasOwn(raw, "anyOf");
  const hasAll = Object.hasOwn(raw, "allOf");
  if (!hasAny && !hasAll) {
    // An unknown key (a typo such as oneOf) already says what is wrong.
    if (ok) report(path, `needs anyOf or allOf: ${HOW}`);
    return { ok: false };
  }
  const anyOf = hasAny ? parseNames(raw["anyOf"], keyPath(path, "anyOf"), report) : [];
  const allOf = hasAll ? parseNames(raw["allOf"], keyPath(path, "allOf"), report) : [];
  if (!ok || anyOf === null || allOf === null) return { ok: false };
  return { ok: true, value: { anyOf, allOf } };
}
