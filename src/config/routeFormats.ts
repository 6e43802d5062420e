// String formats of the route keys: exact paths, globs, regexes and HTTP methods. Each validates the
// value as written and says how to fix it; matching itself lives in core/compileRoutes.ts.

import type { FormatResult, StringFormat } from "./configFormats.ts";
import { globSegments, isAnchoredRegex, REGEX_MAX_LENGTH, routeRegexProblem } from "./routePathPattern.ts";

const ok = (value: unknown): FormatResult => ({ ok: true, value });
const fail = (message: string): FormatResult => ({ ok: false, message });

/** Problems shared by every literal path form: where it starts, what it may contain, normalisation. */
function plainPathProblem(value: string): string | null {
  if (!value.startsWith("/")) return 'must start with "/"';
  if (/[?#\s]/.test(value)) return "must be a plain path (no query, fragment or spaces)";
  if (value.includes("//") || /\/\.\.?(\/|$)/.test(value)) return 'must be normalised (no "//", "/./" or "/../")';
  if (value.includes("\\")) return 'must not contain "\\" (requests with a backslash are rejected before matching)';
  // Requests are matched after normalisation, which decodes unreserved escapes and upper-cases the
  // rest: a configured escape must already be in that form or it could never match.
  for (const m of value.matchAll(/%(.?.?)/g)) {
    const hex = m[1] as string;
    if (!/^[0-9A-F]{2}$/.test(hex)) return 'must write escapes as "%" and two upper-case hex digits (e.g. %20)';
    const char = String.fromCharCode(parseInt(hex, 16));
    if (/[A-Za-z0-9._~-]/.test(char)) return `must write ${JSON.stringify(char)} itself, not %${hex} (the request path is matched decoded)`;
  }
  return null;
}

/** An exact path: compared byte for byte with the normalised request path (a trailing "/" counts). */
export const routeExactPath: StringFormat = {
  label: "path starting with `/`",
  parse(value) {
    const problem = plainPathProblem(value);
    return problem === null ? ok(value) : fail(problem);
  },
};

/** A glob over whole segments: `*` is one segment, `**` any number of segments. */
export const routeGlob: StringFormat = {
  label: "glob starting with `/` (`*` one segment, `**` any)",
  parse(value) {
    const problem = plainPathProblem(value);
    if (problem !== null) return fail(problem);
    const segments = globSegments(value);
    return typeof segments === "string" ? fail(segments) : ok(value);
  },
};

/** A regular expression over the normalised path; anchored, bounded in length, and runnable on the linear-time engine (checked here). */
export const routeRegex: StringFormat = {
  label: "regular expression anchored with `^` and `$`",
  parse(value) {
    if (value.length > REGEX_MAX_LENGTH) return fail(`must be at most ${REGEX_MAX_LENGTH} characters`);
    if (!isAnchoredRegex(value)) {
      return fail('must be anchored: start it with "^" and end it with "$" (e.g. "^/v[0-9]+/users$"); for a prefix end with ".*$"');
    }
    const problem = routeRegexProblem(value);
    return problem === null ? ok(value) : fail(problem);
  },
};

/** An HTTP method token, upper-cased (`get` → `GET`). */
export const httpMethod: StringFormat = {
  label: "HTTP method",
  parse(value) {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(value)) return fail("must be an HTTP method name such as GET or POST");
    return ok(value.toUpperCase());
  },
};
