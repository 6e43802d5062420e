// The path forms a route may match on, as data: a prefix, an exact path or a glob become a list of
// segment patterns, which both the matcher (core/compileRoutes.ts) and its overlap analysis
// (core/routeCoverage.ts) read. Regexes stay opaque strings here; only their anchoring is checked.

import { compileLinearRegex, linearRegexProblem, type LinearRegexFlags } from "./compileLinearRegex.ts";

/** One path segment of a pattern: a literal, `*` (exactly one non-empty segment) or `**` (any number). */
export type PathSegment =
  { readonly kind: "literal"; readonly value: string } | { readonly kind: "one" } | { readonly kind: "any" };

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
  return (
    linearRegexProblem(anchoredSource(source)) ??
    linearRegexProblem(anchoredSource(source), "i") ??
    legacyOctalProblem(source)
  );
}

/**
 * Legacy octal escapes are refused, in a class too: `\1`-`\9` (an octal or identity escape when no
 * group has that number; the linear engine has already refused a real backreference) and `\0`
 * followed by a digit. Case folding (foldRegexCase.ts) copies them as they are, as it must a
 * backreference, so `^/\101dmin$` would never match `/admin` or `/ADMIN`: the letter must be spelled
 * as itself or `\x41`, which fold.
 */
function legacyOctalProblem(source: string): string | null {
  for (let i = 0; i < source.length; i++) {
    if (source[i] !== "\\") continue;
    const next = source[i + 1] ?? "";
    if (/[1-9]/.test(next) || (next === "0" && /[0-9]/.test(source[i + 2] ?? ""))) {
      // Annex B: `\0`-`\3` take up to two more octal digits, `\4`-`\7` one; `\8` and `\9` stand for themselves.
      const more = /[0-3]/.test(next) ? 2 : /[4-7]/.test(next) ? 1 : 0;
      const escape = source.slice(i, i + 2) + (source.slice(i + 2).match(new RegExp(`^[0-7]{0,${more}}`))?.[0] ?? "");
      const digits = escape.slice(1);
      const code = /^[0-7]+$/.test(digits) ? parseInt(digits, 8) : digits.charCodeAt(0);
      const letter = /[A-Za-z]/.test(String.fromCharCode(code))
        ? ` or the letter ${String.fromCharCode(code)} itself`
        : "";
      const hex = `\\x${code.toString(16).toUpperCase().padStart(2, "0")}`;
      return `has the legacy octal escape ${escape} (or a backreference), which case folding cannot read: write the character as ${hex}${letter}`;
    }
    i++; // the escaped character is not the start of another escape (`\\1` is a backslash and "1")
  }
  return null;
}
