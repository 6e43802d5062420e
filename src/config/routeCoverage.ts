// Set reasoning over route matches for check-config: does one rule match every request another
// would (covers), and can a request match both (intersects)? Sound but not complete: when it cannot
// decide (a regex against a glob, say) it answers false, so a warning is never raised by guesswork.

import { compileRouteRegex, exactSegments, globSegments, prefixSegments, type PathSegment } from "./routePathPattern.ts";

type HostPattern = { readonly exact: string } | { readonly suffix: string };
type PathShape =
  | { readonly kind: "segments"; readonly segments: readonly PathSegment[]; readonly exact: string | null }
  | { readonly kind: "regex"; readonly source: string; readonly regex: RegExp };

export interface RouteShape {
  /** null = any host. */
  readonly hosts: readonly HostPattern[] | null;
  readonly path: PathShape;
  /** null = any method. */
  readonly methods: ReadonlySet<string> | null;
}

export interface MatchFields {
  readonly hosts: readonly string[];
  readonly path: string | null;
  readonly pathExact: string | null;
  readonly pathGlob: string | null;
  readonly pathRegex: string | null;
  readonly methods: readonly string[];
}

/** The shape of a parsed match, or null when it cannot be analysed (a bad regex, a bad glob). */
export function routeShapeOf(match: MatchFields): RouteShape | null {
  const hosts = match.hosts.length === 0 ? null : match.hosts.map((h): HostPattern => (h.startsWith("*.") ? { suffix: h.slice(1) } : { exact: h }));
  const methods = match.methods.length === 0 ? null : new Set(match.methods);
  let path: PathShape;
  if (match.pathRegex !== null) {
    try {
      path = { kind: "regex", source: match.pathRegex, regex: compileRouteRegex(match.pathRegex) };
    } catch {
      return null;
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
  return { hosts, path, methods };
}

/** Every request `b` matches is matched by `a`. */
export function covers(a: RouteShape, b: RouteShape): boolean {
  return hostsCover(a.hosts, b.hosts) && methodsCover(a.methods, b.methods) && pathCovers(a.path, b.path);
}

/** Some request is matched by both. */
export function intersects(a: RouteShape, b: RouteShape): boolean {
  return hostsIntersect(a.hosts, b.hosts) && methodsIntersect(a.methods, b.methods) && pathsIntersect(a.path, b.path);
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

function pathCovers(a: PathShape, b: PathShape): boolean {
  if (isEveryPath(a)) return true;
  if (a.kind === "regex") {
    if (b.kind === "regex") return a.source === b.source;
    return b.exact !== null && a.regex.test(b.exact);
  }
  if (b.kind === "regex") return false;
  return segmentsCover(a.segments, b.segments);
}

function pathsIntersect(a: PathShape, b: PathShape): boolean {
  if (isEveryPath(a) || isEveryPath(b)) return true;
  if (a.kind === "regex" || b.kind === "regex") {
    if (a.kind === "regex" && b.kind === "regex") return a.source === b.source;
    const [re, other] = a.kind === "regex" ? [a, b] : [b as Extract<PathShape, { kind: "regex" }>, a];
    return other.kind === "segments" && other.exact !== null && re.regex.test(other.exact);
  }
  return segmentsIntersect(a.segments, b.segments);
}

/** A single segment `a` matches every segment `b` matches (neither is `**`). */
function singleCovers(a: PathSegment, b: PathSegment): boolean {
  if (a.kind === "one") return b.kind === "one" || (b.kind === "literal" && b.value !== "");
  return a.kind === "literal" && b.kind === "literal" && a.value === b.value;
}

function singleIntersects(a: PathSegment, b: PathSegment): boolean {
  if (a.kind === "literal" && b.kind === "literal") return a.value === b.value;
  const literal = a.kind === "literal" ? a : b.kind === "literal" ? b : null;
  return literal === null || literal.value !== "";
}

function memo(fn: (i: number, j: number, self: (i: number, j: number) => boolean) => boolean): (i: number, j: number) => boolean {
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
export function segmentsCover(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
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
    return singleCovers(sa, sb) && self(i + 1, j + 1);
  });
  return run(0, 0);
}

/** Some segment list matches both patterns. */
export function segmentsIntersect(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
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
    return singleIntersects(sa, sb) && self(i + 1, j + 1);
  });
  return run(0, 0);
}
