// Reads a claim by a configured path such as `realm_access.roles`, `cognito:groups` or
// `https://example.com/roles`. Keys may themselves contain dots (namespaced URL claims, client ids),
// so at every level the longest literal key is tried first and dotted descent is the fallback.

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolveFrom(value: unknown, segments: readonly string[], from: number): unknown {
  if (from === segments.length) return value;
  if (!isPlainObject(value)) return undefined;
  for (let to = segments.length; to > from; to--) {
    // One segment is its own key: no string is built for the usual last step of a path.
    const key = to === from + 1 ? segments[from]! : segments.slice(from, to).join(".");
    // Own properties only: a path like `__proto__.x` must never reach Object.prototype.
    if (Object.hasOwn(value, key)) {
      const found = resolveFrom(value[key], segments, to);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Splits a claim path once (at config time) into the segments `resolveClaim` walks. */
export function claimPathSegments(path: string): readonly string[] {
  return path.split(".");
}

/**
 * The value at `path` in `claims`, or undefined. `a.b.c` tries the key "a.b.c", then "a.b" → "c",
 * then "a" → "b.c", then "a" → "b" → "c"; the first branch that resolves wins. Paths are a handful
 * of segments, so the backtracking stays tiny.
 */
export function resolveClaim(claims: Readonly<Record<string, unknown>>, path: string | readonly string[]): unknown {
  const segments = typeof path === "string" ? claimPathSegments(path) : path;
  return resolveFrom(claims, segments, 0);
}
