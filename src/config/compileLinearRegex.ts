// Compiles the configured regular expressions that run on request data (route `pathRegex`) on V8's
// linear-time engine (the `l` flag), so no pattern can make a request cost more than a pass over its
// input: `^/api/([a-z0-9]+-?)*/items$` is the same on a 35-character path as on a short one, where
// the default backtracking engine took seconds. The engine refuses what it cannot run in linear time
// (backreferences, lookahead, counted repetition above 16, the `i` and `u` flags); config parsing
// turns that refusal into a problem that says how to rewrite the pattern (linearRegexProblem).

import { setFlagsFromString } from "node:v8";
import { foldRegexCase } from "./foldRegexCase.ts";

// V8 reads the flag when a RegExp is created, so setting it here, before the first `l` regex, is
// enough; it only makes the `l` flag known and changes no other regex in the process.
setFlagsFromString("--enable-experimental-regexp-engine");

/** `""`: as written; `"i"`: ASCII letters match either case (done by rewriting the pattern, see foldRegexCase). */
export type LinearRegexFlags = "" | "i";

/** Longest input a configured regex is run on; the gate refuses longer paths before any rule (path_invalid). */
export const REGEX_INPUT_LIMIT = 4096;

/**
 * The linear-time RegExp for `source`. Throws a SyntaxError for a pattern that is invalid or that the
 * linear engine cannot run; linearRegexProblem says the same in config terms.
 */
export function compileLinearRegex(source: string, flags: LinearRegexFlags = ""): RegExp {
  // V8's linear engine refuses the `i` flag outright, so case-insensitivity is written into the
  // pattern (`a` → `[aA]`), which it runs like any other class.
  return new RegExp(flags === "i" ? foldRegexCase(source) : source, "l");
}

/** null when `source` compiles on the linear engine; else what is wrong and how to fix it. */
export function linearRegexProblem(source: string, flags: LinearRegexFlags = ""): string | null {
  try {
    new RegExp(source);
  } catch (error) {
    // SyntaxError text names the pattern and the problem; it carries no secret (config is ours).
    return `is not a valid regular expression: ${error instanceof Error ? error.message : "syntax error"}`;
  }
  try {
    compileLinearRegex(source, flags);
    return null;
  } catch {
    return `cannot run in linear time, so a crafted path could stall every check: ${superLinearConstruct(source)}`;
  }
}

/** Names the construct the linear engine refused, read from the source (best effort, never wrong about the fix). */
function superLinearConstruct(source: string): string {
  if (/\(\?<?[=!]/.test(source))
    return 'remove the lookaround ("(?=", "(?!", "(?<=", "(?<!"): match the text itself, or split the rule in two';
  if (/\\[1-9]|\\k</.test(source))
    return "remove the backreference (\\1, \\k<name>): repeat the group's pattern instead";
  if (/\{\s*(1[7-9]|[2-9]\d|\d{3,})/.test(source)) {
    return "counted repetition above 16 ({17}, {1,64}, ...) is refused: split it into runs of at most 16 ([0-9a-f]{24} is [0-9a-f]{16}[0-9a-f]{8}; {1,32} is {1,16}{0,16}) or use + / *";
  }
  if (/\(\?[a-z-]+:/i.test(source)) return "remove the inline modifier group ((?i:...)); case is set per route";
  return "nested counted repetitions multiply past 16 (e.g. (?:a{8}){4}): use + or * for the outer one";
}
