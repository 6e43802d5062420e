// Set reasoning over route matches for the route-matching warnings (checkRouteMatching.ts): does
// one rule match every request another would (coverage), and can a request match both (intersects)?
// It reads a rule the way the matcher does (compileRoutes.ts): a rule that is not public matches the
// ASCII-case-folded path unless `match.caseSensitive` says otherwise, also matches the path with one
// trailing slash toggled, and a GET rule matches HEAD. Sound but not complete: when it cannot decide
// (a regex against a glob, say) coverage answers null and intersects false, so no warning is guessed.

import { foldAsciiCase } from "./foldAsciiCase.ts";
import { regexLiteralPrefix } from "./regexLiteralPrefix.ts";
import { toggleTrailingSlash } from "./toggleTrailingSlash.ts";
import {
  compileRouteRegex,
  exactSegments,
  globSegments,
  prefixSegments,
  type PathSegment,
} from "../config/routePathPattern.ts";

type HostPattern = { readonly exact: string } | { readonly suffix: string };
type PathShape =
  | { readonly kind: "segments"; readonly segments: readonly PathSegment[]; readonly exact: string | null }
  | { readonly kind: "regex"; readonly source: string; readonly regex: RegExp };

export interface RouteShape {
  /** null = any host. */
  readonly hosts: readonly HostPattern[] | null;
  readonly path: PathShape;
  /** null = any method; HEAD is in it when GET is. */
  readonly methods: ReadonlySet<string> | null;
  /** The methods as written (no HEAD added); null = any method. */
  readonly listedMethods: ReadonlySet<string> | null;
  /** Matches the ASCII-case-folded path against folded literals (a regex as if it had the `i` flag). */
  readonly caseInsensitive: boolean;
  /** Also matches the path with one trailing slash toggled (a rule that is not public). */
  readonly toggled: boolean;
}

export interface MatchFields {
  readonly hosts: readonly string[];
  readonly path: string | null;
  readonly pathExact: string | null;
  readonly pathGlob: string | null;
  readonly pathRegex: string | null;
  readonly methods: readonly string[];
  /** null or absent = the default by `auth`. */
  readonly caseSensitive?: boolean | null;
}

/** The shape of a parsed match under its rule's `auth`, or null when it cannot be analysed (a bad regex, a bad glob). */
export function routeShapeOf(match: MatchFields, auth: string): RouteShape | null {
  const hosts =
    match.hosts.length === 0
      ? null
      : match.hosts.map((h): HostPattern => (h.startsWith("*.") ? { suffix: h.slice(1) } : { exact: h }));
  const listed = match.methods.map((m) => m.toUpperCase());
  const listedMethods = listed.length === 0 ? null : new Set(listed);
  const methods = listedMethods === null || !listedMethods.has("GET") ? listedMethods : new Set([...listed, "HEAD"]);
  const caseInsensitive = !(match.caseSensitive ?? auth === "public");
  let path: PathShape;
  if (match.pathRegex !== null) {
    // The matcher runs a regex that is one literal (`^/x/$`) as that exact path: so does this.
    const literal = regexLiteralPrefix(match.pathRegex);
    if (literal.complete && literal.prefix.startsWith("/")) {
      path = { kind: "segments", segments: exactSegments(literal.prefix), exact: literal.prefix };
    } else {
      try {
        path = {
          kind: "regex",
          source: match.pathRegex,
          regex: compileRouteRegex(match.pathRegex, caseInsensitive ? "i" : ""),
        };
      } catch {
        return null;
      }
    }
  } else if (match.pathGlob !== null) {
    const segments = globSegments(match.pathGlob);
    if (typeof segments === "string") return null;
    path = { kind: "segments", segments, exact: segments.every((s) => s.kind === "literal") ? match.pathGlob : null };
  } else if (match.pathExact !== null) {
    path = { kind: "segments", segments: exactSegments(match.pathExact), exact: match.pathExact };
  } else {
    path = { kind: "segments", segments: prefixSegments(match.path ?? "/"), exact: null };
  }
  return { hosts, path, methods, listedMethods, caseInsensitive, toggled: auth !== "public" };
}

/** Every request `b` matches is matched by `a`: true, false, or null when it cannot tell. */
export function coverage(a: RouteShape, b: RouteShape): boolean | null {
  if (!hostsCover(a.hosts, b.hosts) || !methodsCover(a.methods, b.methods)) return false;
  return pathCoverage(a, b);
}

/** `a` is known to match every request `b` matches. */
export function covers(a: RouteShape, b: RouteShape): boolean {
  return coverage(a, b) === true;
}

/** Some request is known to be matched by both. */
export function intersects(a: RouteShape, b: RouteShape): boolean {
  return hostsIntersect(a.hosts, b.hosts) && methodsIntersect(a.methods, b.methods) && pathsIntersect(a, b);
}

/**
 * Whether `a`, read as broadly as what it is written for allows, matches every request `b` is
 * written for: paths in every letter case and both trailing-slash spellings for `a`, methods as
 * written (no implied HEAD) for both. Tells a fallback written after specific rules (`/api` after
 * `/api/users`, whatever their case and slash settings) from a rule an earlier one takes over.
 */
export function writtenCoverage(a: RouteShape, b: RouteShape): boolean | null {
  return coverage(widened(a), { ...b, methods: b.listedMethods });
}

function widened(rule: RouteShape): RouteShape {
  const methods = rule.listedMethods;
  if (rule.path.kind === "regex" && !rule.caseInsensitive) {
    const path = { ...rule.path, regex: compileRouteRegex(rule.path.source, "i") };
    return { ...rule, path, methods, caseInsensitive: true, toggled: true };
  }
  return { ...rule, methods, caseInsensitive: true, toggled: true };
}

/**
 * `earlier` takes paths `later` is written for only through the other trailing-slash spelling:
 * none of the paths later's pattern spells matches earlier's pattern as written, some match it
 * with one trailing slash toggled (`pathExact: /x` before `pathExact: /x/`). Segment patterns
 * only, where this is decided exactly.
 */
export function sharesOnlyToggledSpelling(earlier: RouteShape, later: RouteShape): boolean {
  if (!earlier.toggled || earlier.path.kind !== "segments" || later.path.kind !== "segments") return false;
  const other = toggledSpelling(earlier.path.segments);
  if (other === null) return false;
  const ci = earlier.caseInsensitive || later.caseInsensitive;
  return (
    !segmentsIntersect(earlier.path.segments, later.path.segments, ci) &&
    segmentsIntersect(other, later.path.segments, ci)
  );
}

function hostCovers(a: HostPattern, b: HostPattern): boolean {
  if ("exact" in a) return "exact" in b && a.exact === b.exact;
  // `*.example.com` covers `x.example.com` and `*.x.example.com`, never `example.com`.
  if ("exact" in b) return b.exact.length > a.suffix.length && b.exact.endsWith(a.suffix);
  return b.suffix.endsWith(a.suffix);
}

function hostIntersects(a: HostPattern, b: HostPattern): boolean {
  if ("exact" in a && "exact" in b) return a.exact === b.exact;
  if ("suffix" in a && "suffix" in b) return a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
  return hostCovers(a, b) || hostCovers(b, a);
}

function hostsCover(a: readonly HostPattern[] | null, b: readonly HostPattern[] | null): boolean {
  if (a === null) return true;
  if (b === null) return false;
  return b.every((hb) => a.some((ha) => hostCovers(ha, hb)));
}

function hostsIntersect(a: readonly HostPattern[] | null, b: readonly HostPattern[] | null): boolean {
  if (a === null || b === null) return true;
  return a.some((ha) => b.some((hb) => hostIntersects(ha, hb)));
}

function methodsCover(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (a === null) return true;
  if (b === null) return false;
  return [...b].every((m) => a.has(m));
}

function methodsIntersect(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (a === null || b === null) return true;
  return [...b].some((m) => a.has(m));
}

function isEveryPath(p: PathShape): boolean {
  return p.kind === "segments" && p.segments.length === 1 && p.segments[0]?.kind === "any";
}

const EMPTY_SEGMENT: PathSegment = { kind: "literal", value: "" };

/**
 * The pattern for the other trailing-slash spelling of what `segments` matches, or null when there
 * is none to add: a pattern ending in `**` already matches both spellings, and `/` has no other.
 */
function toggledSpelling(segments: readonly PathSegment[]): readonly PathSegment[] | null {
  const last = segments.at(-1);
  if (last === undefined || last.kind === "any") return null;
  if (last.kind === "literal" && last.value === "") return segments.length > 1 ? segments.slice(0, -1) : null;
  return [...segments, EMPTY_SEGMENT];
}

/** The patterns whose union is every path a segment-shaped rule matches, trailing slash toggled included. */
function spellingsOf(rule: RouteShape, segments: readonly PathSegment[]): readonly (readonly PathSegment[])[] {
  const other = rule.toggled ? toggledSpelling(segments) : null;
  return other === null ? [segments] : [segments, other];
}

/** The exact paths (one casing each) a rule with an exact path matches: the path and, toggled, its other spelling. */
function exactSpellings(rule: RouteShape, exact: string): string[] {
  const other = rule.toggled ? toggleTrailingSlash(exact) : null;
  return other === null ? [exact] : [exact, other];
}

/** The regex rule matches `path` (as the matcher does: the toggled spelling too, for a rule that toggles). */
function regexMatches(rule: RouteShape & { readonly path: { readonly kind: "regex" } }, path: string): boolean {
  const regex = (rule.path as Extract<PathShape, { kind: "regex" }>).regex;
  if (regex.test(path)) return true;
  const other = rule.toggled ? toggleTrailingSlash(path) : null;
  return other !== null && regex.test(other);
}

const ASCII_LETTER = /[A-Za-z]/;

function pathCoverage(a: RouteShape, b: RouteShape): boolean | null {
  if (isEveryPath(a.path)) return true;
  if (a.path.kind === "regex") {
    if (b.path.kind === "regex") {
      if (a.path.source !== b.path.source) return null;
      return (a.caseInsensitive || !b.caseInsensitive) && (a.toggled || !b.toggled) ? true : null;
    }
    if (b.path.exact === null) return null;
    // A case-sensitive regex against every casing of a path with letters: not decided here.
    if (b.caseInsensitive && !a.caseInsensitive && ASCII_LETTER.test(b.path.exact)) return null;
    const rule = a as RouteShape & { readonly path: { readonly kind: "regex" } };
    return exactSpellings(b, b.path.exact).every((p) => regexMatches(rule, p));
  }
  if (b.path.kind === "regex") return null;
  const mine = spellingsOf(a, a.path.segments);
  let unknown = false;
  for (const theirs of spellingsOf(b, b.path.segments)) {
    if (mine.some((m) => segmentsCover(m, theirs, a.caseInsensitive, b.caseInsensitive))) continue;
    // a's two spellings hold paths of different endings (with and without a trailing slash), so a
    // pattern of b with one ending is in their union only if it is in one of them; one ending in
    // `**` has both endings and could straddle them.
    if (mine.length > 1 && theirs.at(-1)?.kind === "any") unknown = true;
    else return false;
  }
  return unknown ? null : true;
}

function pathsIntersect(a: RouteShape, b: RouteShape): boolean {
  if (isEveryPath(a.path) || isEveryPath(b.path)) return true;
  if (a.path.kind === "regex" || b.path.kind === "regex") {
    if (a.path.kind === "regex" && b.path.kind === "regex") return a.path.source === b.path.source;
    const [re, other] = a.path.kind === "regex" ? [a, b] : [b, a];
    if (other.path.kind !== "segments" || other.path.exact === null) return false;
    // Each spelling tried is one `other` matches as written, so a match is a request both take.
    const rule = re as RouteShape & { readonly path: { readonly kind: "regex" } };
    return exactSpellings(other, other.path.exact).some((p) => regexMatches(rule, p));
  }
  const ci = a.caseInsensitive || b.caseInsensitive;
  const bSpellings = spellingsOf(b, b.path.segments);
  return spellingsOf(a, a.path.segments).some((x) => bSpellings.some((y) => segmentsIntersect(x, y, ci)));
}

/**
 * A single segment of `a` matches every segment `b`'s matches (neither is `**`); `aFolds`/`bFolds`:
 * the rule compares ASCII-case-folded segments, so its literal stands for every casing of itself.
 */
function singleCovers(a: PathSegment, b: PathSegment, aFolds: boolean, bFolds: boolean): boolean {
  if (a.kind === "one") return b.kind === "one" || (b.kind === "literal" && b.value !== "");
  if (a.kind !== "literal" || b.kind !== "literal") return false;
  if (aFolds) return foldAsciiCase(a.value) === foldAsciiCase(b.value);
  // An exact literal covers a folding one only when it has no letter to spell another way.
  return a.value === b.value && (!bFolds || !ASCII_LETTER.test(b.value));
}

/** Some segment matches both; `folds`: either rule compares folded segments, and then a shared casing exists exactly when the folds agree. */
function singleIntersects(a: PathSegment, b: PathSegment, folds: boolean): boolean {
  if (a.kind === "literal" && b.kind === "literal")
    return folds ? foldAsciiCase(a.value) === foldAsciiCase(b.value) : a.value === b.value;
  const literal = a.kind === "literal" ? a : b.kind === "literal" ? b : null;
  return literal === null || literal.value !== "";
}

function memo(
  fn: (i: number, j: number, self: (i: number, j: number) => boolean) => boolean,
): (i: number, j: number) => boolean {
  const seen = new Map<number, boolean>();
  const self = (i: number, j: number): boolean => {
    const key = i * 4096 + j;
    const hit = seen.get(key);
    if (hit !== undefined) return hit;
    seen.set(key, false); // a cycle adds nothing new
    const value = fn(i, j, self);
    seen.set(key, value);
    return value;
  };
  return self;
}

/** Language inclusion of segment patterns: every segment list `b` matches, `a` matches. */
export function segmentsCover(
  a: readonly PathSegment[],
  b: readonly PathSegment[],
  aFolds = false,
  bFolds = false,
): boolean {
  const m = b.length;
  const run = memo((i, j, self) => {
    if (j === m) return a.slice(i).every((s) => s.kind === "any");
    const sb = b[j] as PathSegment;
    const sa = a[i];
    if (sa?.kind === "any") {
      // `a`'s `**` stops here, or swallows b's next segment (a single one, or b's own `**`).
      return self(i + 1, j) || self(i, j + 1);
    }
    if (sa === undefined || sb.kind === "any") return false;
    return singleCovers(sa, sb, aFolds, bFolds) && self(i + 1, j + 1);
  });
  return run(0, 0);
}

/** Some segment list matches both patterns. */
export function segmentsIntersect(a: readonly PathSegment[], b: readonly PathSegment[], folds = false): boolean {
  const n = a.length;
  const m = b.length;
  const run = memo((i, j, self) => {
    if (i === n && j === m) return true;
    const sa = a[i];
    const sb = b[j];
    if (sa?.kind === "any" && self(i + 1, j)) return true;
    if (sb?.kind === "any" && self(i, j + 1)) return true;
    if (sa === undefined || sb === undefined) return false;
    if (sa.kind === "any") return sb.kind !== "any" && self(i, j + 1);
    if (sb.kind === "any") return self(i + 1, j);
    return singleIntersects(sa, sb, folds) && self(i + 1, j + 1);
  });
  return run(0, 0);
}
