// The path forms a route may match on, as data: a prefix, an exact path or a glob become a list of
// segment patterns, which both the matcher (core/compileRoutes.ts) and check-config's overlap
// analysis read. Regexes stay opaque strings here; only their anchoring is checked.

import { compileLinearRegex, linearRegexProblem, type LinearRegexFlags } from "./compileLinearRegex.ts";

/** One path segment of a pattern: a literal, `*` (exactly one non-empty segment) or `**` (any number). */
export type PathSegment = { readonly kind: "literal"; readonly value: string } | { readonly kind: "one" } | { readonly kind: "any" };

export const REGEX_MAX_LENGTH = 512;

/** `/a/b` → ["a", "b"]; `/` → [""]; `/a/` → ["a", ""]. The text must start with "/". */
function splitSegments(path: string): string[] {
  return path.slice(1).split("/");
}

/** Segments of a normalised exact path: all literals. */
export function exactSegments(path: string): PathSegment[] {
  return splitSegments(path).map((value) => ({ kind: "literal", value }));
}

/** Segments of a prefix: its literals then `**` (a prefix matches itself and everything below it). */
export function prefixSegments(prefix: string): PathSegment[] {
  const base = prefix.replace(/\/+$/, "");
  const literals: PathSegment[] = base === "" ? [] : exactSegments(base);
  return [...literals, { kind: "any" }];
}

/** Segments of a glob; a `*` inside a segment is an error (returned as a message). */
export function globSegments(glob: string): PathSegment[] | string {
  const out: PathSegment[] = [];
  for (const part of splitSegments(glob)) {
    if (part === "*") out.push({ kind: "one" });
    else if (part === "**") {
      // `/**/**` means the same as `/**`; one is enough and keeps matching linear.
      if (out.at(-1)?.kind !== "any") out.push({ kind: "any" });
    } else if (part.includes("*")) {
      return '"*" and "**" must be whole segments (e.g. /files/*/meta); use pathRegex for a partial segment';
    } else out.push({ kind: "literal", value: part });
  }
  return out;
}

/** True when `source` starts with `^` and ends with a `$` that is not escaped. */
export function isAnchoredRegex(source: string): boolean {
  if (!source.startsWith("^") || !source.endsWith("$")) return false;
  let backslashes = 0;
  for (let i = source.length - 2; i >= 0 && source[i] === "\\"; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** The source a route regex is compiled from: wrapped in `^(?:…)$` as well, so a top-level alternation such as `^/a|/b$` cannot escape its anchors and match `/x/b`. */
function anchoredSource(source: string): string {
  return `^(?:${source})$`;
}

/**
 * Compiles an anchored route regex on the linear-time engine (compileLinearRegex.ts); `"i"` matches
 * ASCII letters in either case. Throws a SyntaxError on what routeRegexProblem reports.
 */
export function compileRouteRegex(source: string, flags: LinearRegexFlags = ""): RegExp {
  return compileLinearRegex(anchoredSource(source), flags);
}

/** null when `source` compiles as a route regex (with `"i"` too: a rule may match either way); else the config problem. */
export function routeRegexProblem(source: string): string | null {
  return linearRegexProblem(anchoredSource(source)) ?? linearRegexProblem(anchoredSource(source), "i");
}
