// String formats of the route keys: exact paths, globs, regexes and HTTP methods. Each validates the
// value as written and says how to fix it, and carries its JSON Schema; matching itself lives in
// core/compileRoutes.ts.

import type { FormatResult, StringFormat } from "./configFormats.ts";
import { globSegments, isAnchoredRegex, REGEX_MAX_LENGTH, routeRegexProblem } from "./routePathPattern.ts";

const ok = (value: string): FormatResult => ({ ok: true, value });
const fail = (message: string): FormatResult => ({ ok: false, message });

// Characters the normaliser decodes from their escapes (core/normalizePath.ts): the unreserved ones
// and the sub-delims and ":" "@" other than ";". A pattern must hold them as themselves.
const DECODED_BY_NORMALISER = /[A-Za-z0-9._~!$&'()*+,=:@-]/;

const HEX_DIGITS = "0123456789ABCDEF";

/** `digits` (in HEX_DIGITS order) as a regex class body with runs of three or more written as ranges: `146-9A-E`. */
function hexClass(digits: readonly string[]): string {
  let out = "";
  for (let i = 0; i < digits.length;) {
    let j = i;
    // A run continues while the next digit follows in HEX_DIGITS and in ASCII (9 and A do not).
    while (j + 1 < digits.length && (digits[j + 1] as string).charCodeAt(0) === (digits[j] as string).charCodeAt(0) + 1)
      j++;
    out += j - i >= 2 ? `${digits[i]}-${digits[j]}` : digits.slice(i, j + 1).join("");
    i = j + 1;
  }
  return out;
}

/**
 * A `%XX` escape a normalised path can hold, for the JSON Schema: two upper-case hex digits that do
 * not encode a character the normaliser decodes. Built from DECODED_BY_NORMALISER, as escapeProblem is.
 */
export const ESCAPE_PATTERN = ((): string => {
  const decoded: string[] = [];
  for (const high of HEX_DIGITS.slice(0, 8)) {
    const lows = [...HEX_DIGITS].filter((low) =>
      DECODED_BY_NORMALISER.test(String.fromCharCode(parseInt(high + low, 16))),
    );
    if (lows.length > 0) decoded.push(`${high}[${hexClass(lows)}]`);
  }
  return `%(?!${decoded.join("|")})[0-9A-F]{2}`;
})();

/** A path segment that is not `.` or `..`, for the JSON Schema. */
export const NOT_DOT_SEGMENT_PATTERN = String.raw`(?!\.{1,2}(?:/|$))`;

// A path character as an exact path or glob may hold: no query, fragment, space or backslash, no
// non-ASCII (requests are matched percent-encoded), escapes only as ESCAPE_PATTERN allows.
const EXACT_SEGMENT = `${NOT_DOT_SEGMENT_PATTERN}(?:[^/?#\\s\\\\%\\u0080-\\uFFFF]|${ESCAPE_PATTERN})+`;
const GLOB_SEGMENT = `(?:\\*\\*?|${NOT_DOT_SEGMENT_PATTERN}(?:[^/?#\\s\\\\%*\\u0080-\\uFFFF]|${ESCAPE_PATTERN})+)`;
const segmentsPattern = (segment: string): string => `^/(?:${segment}(?:/${segment})*/?)?$`;

/** The UTF-8 percent-encoding of every non-ASCII character of `text`, upper-case hex as the normaliser writes it; null for a lone surrogate. */
function percentEncodedNonAscii(text: string): string | null {
  try {
    return text.replace(/[^\x00-\x7f]+/gu, (run) => encodeURIComponent(run));
  } catch {
    return null;
  }
}

/**
 * Raw non-ASCII in a path pattern never matches: the normaliser percent-encodes it in every request
 * path, so a rule for `/über-admin` would let every request for it fall to the next, looser rule.
 */
export function nonAsciiProblem(value: string): string | null {
  if (!/[^\x00-\x7f]/.test(value)) return null;
  const encoded = percentEncodedNonAscii(value);
  const fix = encoded === null ? "remove the lone surrogate" : `write ${JSON.stringify(encoded)}`;
  return `has non-ASCII characters, which never match: requests are matched in their percent-encoded UTF-8 form; ${fix}`;
}

/** The problem with the escape `%${hex}` in a pattern, null when it can match a normalised path. */
export function escapeProblem(hex: string): string | null {
  if (!/^[0-9A-F]{2}$/.test(hex)) return 'must write escapes as "%" and two upper-case hex digits (e.g. %20)';
  const char = String.fromCharCode(parseInt(hex, 16));
  if (DECODED_BY_NORMALISER.test(char))
    return `must write ${JSON.stringify(char)} itself, not %${hex} (the request path is matched decoded)`;
  return null;
}

/** Problems of the characters of a literal path (prefix, exact path, glob): non-ASCII, escapes. */
export function pathCharactersProblem(value: string): string | null {
  const nonAscii = nonAsciiProblem(value);
  if (nonAscii !== null) return nonAscii;
  // Requests are matched after normalisation, which decodes unreserved characters, sub-delims, ":"
  // and "@" and upper-cases the other escapes: a configured escape must already be in that form or
  // it could never match.
  for (const m of value.matchAll(/%(.?.?)/g)) {
    const problem = escapeProblem(m[1] as string);
    if (problem !== null) return problem;
  }
  return null;
}

/** Problems shared by every literal path form: where it starts, what it may contain, normalisation. */
function plainPathProblem(value: string): string | null {
  if (!value.startsWith("/")) return 'must start with "/"';
  const nonAscii = nonAsciiProblem(value);
  if (nonAscii !== null) return nonAscii;
  if (/[?#\s]/.test(value)) return "must be a plain path (no query, fragment or spaces)";
  if (value.includes("//") || /\/\.\.?(\/|$)/.test(value)) return 'must be normalised (no "//", "/./" or "/../")';
  if (value.includes("\\")) return 'must not contain "\\" (requests with a backslash are rejected before matching)';
  return pathCharactersProblem(value);
}

/** An exact path: compared byte for byte with the normalised request path (a trailing "/" counts). */
export const routeExactPath: StringFormat<string> = {
  label: "path starting with `/`",
  jsonSchema: { type: "string", pattern: segmentsPattern(EXACT_SEGMENT) },
  parse(value) {
    const problem = plainPathProblem(value);
    return problem === null ? ok(value) : fail(problem);
  },
};

/** A glob over whole segments: `*` is one segment, `**` any number of segments. */
export const routeGlob: StringFormat<string> = {
  label: "glob starting with `/` (`*` one segment, `**` any)",
  jsonSchema: { type: "string", pattern: segmentsPattern(GLOB_SEGMENT) },
  parse(value) {
    const problem = plainPathProblem(value);
    if (problem !== null) return fail(problem);
    const segments = globSegments(value);
    return typeof segments === "string" ? fail(segments) : ok(value);
  },
};

/** A regular expression over the normalised path; anchored, bounded in length, and runnable on the linear-time engine (checked here). */
export const routeRegex: StringFormat<string> = {
  label: "regular expression anchored with `^` and `$`",
  jsonSchema: { type: "string", maxLength: REGEX_MAX_LENGTH, pattern: String.raw`^\^(?:[^\\]|\\[\s\S])*\$$` },
  schemaNote: "check-config also compiles it.",
  parse(value) {
    if (value.length > REGEX_MAX_LENGTH) return fail(`must be at most ${REGEX_MAX_LENGTH} characters`);
    if (!isAnchoredRegex(value)) {
      return fail(
        'must be anchored: start it with "^" and end it with "$" (e.g. "^/v[0-9]+/users$"); for a prefix end with ".*$"',
      );
    }
    const problem = routeRegexProblem(value) ?? regexPathTextProblem(value);
    return problem === null ? ok(value) : fail(problem);
  },
};

/**
 * What a regex says about path text that no normalised path holds: raw non-ASCII, or a literal
 * escape (outside a class, not after a backslash) of a character the normaliser decodes.
 */
function regexPathTextProblem(source: string): string | null {
  if (/[^\x00-\x7f]/.test(source)) {
    const chars = [...new Set(source.match(/[^\x00-\x7f]/gu) ?? [])];
    const spelled = chars
      .map((c) => `${JSON.stringify(c)} is ${percentEncodedNonAscii(c) ?? "a lone surrogate"}`)
      .join(", ");
    return `has non-ASCII characters, which never match: requests are matched in their percent-encoded UTF-8 form; write them so (${spelled})`;
  }
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") i++;
    else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "%" && !inClass && /^[0-9A-Fa-f]{2}$/.test(source.slice(i + 1, i + 3))) {
      const hex = source.slice(i + 1, i + 3);
      const char = String.fromCharCode(parseInt(hex, 16));
      if (DECODED_BY_NORMALISER.test(char)) {
        const written = /[$()*+.]/.test(char) ? `\\${char}` : char;
        return `must match ${JSON.stringify(char)} as itself (${written}), not %${hex} (the request path is matched decoded)`;
      }
    }
  }
  return null;
}

/** An HTTP method token, upper-cased (`get` → `GET`). */
const METHOD = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export const httpMethod: StringFormat<string> = {
  label: "HTTP method",
  jsonSchema: {
    type: "string",
    pattern: METHOD.source,
    examples: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  },
  parse(value) {
    if (!METHOD.test(value)) return fail("must be an HTTP method name such as GET or POST");
    return ok(value.toUpperCase());
  },
};
