// Whether a normalised request path matches a compiled rule's path (compileRoutes.ts): prefix,
// exact, glob (segment by segment, no regex) and linear-time regex; and whether the path with one
// trailing slash toggled could match at all, read off the path itself.
import type { PathSegment } from "../config/routePathPattern.ts";
import type { PathMatcher } from "./compileRoutes.ts";

/**
 * Glob match over whole segments, linear in practice: the classic wildcard algorithm with one
 * backtrack point, where `**` plays `*` over segments and `*` plays `?` (one non-empty segment).
 * No regex, so no pattern can make a long path cost more than segments × pattern length; no
 * split either: segments are read in place.
 */
export function globMatches(segments: readonly PathSegment[], path: string): boolean {
  const n = path.length;
  let p = 0;
  let s = 1; // start of the current path segment (after its "/"); s > n: no segment left
  let starP = -1;
  let starS = 0;
  while (s <= n) {
    let e = path.indexOf("/", s);
    if (e === -1) e = n;
    const seg = segments[p];
    if (
      seg !== undefined &&
      ((seg.kind === "one" && e > s) ||
        (seg.kind === "literal" && e - s === seg.value.length && path.startsWith(seg.value, s)))
    ) {
      p++;
      s = e + 1;
    } else if (seg?.kind === "any") {
      starP = p;
      starS = s;
      p++;
    } else if (starP !== -1) {
      // Let the last `**` swallow one more segment and retry what follows it.
      p = starP + 1;
      const next = path.indexOf("/", starS);
      starS = next === -1 ? n + 1 : next + 1;
      s = starS;
    } else {
      return false;
    }
  }
  while (segments[p]?.kind === "any") p++;
  return p === segments.length;
}

/**
 * False when `path` with one trailing slash toggled cannot match, read off `path` itself so that a
 * request walking many rules makes no toggled path for them: an exact path must differ in length by
 * one, and the toggled path keeps a glob's or regex's literal prefix only if `path` has it already
 * or is that prefix less its final slash.
 */
export function toggledMayMatch(matcher: PathMatcher, path: string): boolean {
  switch (matcher.kind) {
    case "exact":
      return matcher.path.length === path.length + 1 || matcher.path.length === path.length - 1;
    case "glob":
    case "regex":
      return matcher.prefix.length === path.length + 1 || path.startsWith(matcher.prefix);
    default:
      return true;
  }
}

export function pathMatches(matcher: PathMatcher, path: string): boolean {
  switch (matcher.kind) {
    case "any":
      return true;
    case "prefix":
      return path === matcher.base || path.startsWith(matcher.baseWithSlash);
    case "exact":
      return path === matcher.path;
    case "glob":
      return path.startsWith(matcher.prefix) && globMatches(matcher.segments, path);
    case "regex":
      return path.startsWith(matcher.prefix) && matcher.regex.test(path);
  }
}
