// Normalises a request path the way our Envoy configs do (normalize_path, merge_slashes,
// path_with_escaped_slashes_action: REJECT_REQUEST) so routes are matched on the path the upstream
// will actually serve, and refuses the shapes that common upstreams read differently from Envoy
// (PATH_SHAPES): a rule protects what the upstream serves, not only the bytes Portcullis saw. Pure
// string work; the query and fragment are dropped, never interpreted.

import type { PathShape } from "../config/pathShapeNames.ts";

export { PATH_SHAPE_NAMES, type PathShape } from "../config/pathShapeNames.ts";

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

/**
 * The ambiguous path shapes refused by default, each with the reading that makes it dangerous. The
 * names are shared with the shipped Envoy configs and `policy.allowPathShapes`.
 */
export const PATH_SHAPES = {
  pathParameters: {
    found: "a ';' or %3B (path parameters)",
    exposes:
      "/admin;x/y reaches an upstream that strips path parameters (Tomcat, Jetty, Spring) as /admin/y while rules see /admin;x/y",
  },
  encodedPercent: {
    found: "an encoded percent %25",
    exposes:
      "/%2561dmin/x reaches an upstream that decodes twice (some proxies, servlet filters, frameworks) as /admin/x while rules see /%2561dmin/x",
  },
  trailingDot: {
    found: "a segment ending in '.'",
    exposes:
      "/admin./y reaches an upstream that trims trailing dots (IIS, Windows file servers, Spring) as /admin/y while rules see /admin./y",
  },
  trailingWhitespace: {
    found: "a segment ending in an encoded space (%20)",
    exposes:
      "/admin%20/y reaches an upstream that trims trailing whitespace (IIS, some frameworks) as /admin/y while rules see /admin%20/y",
  },
  invalidUtf8: {
    found: "percent-escapes that are not well-formed UTF-8",
    exposes:
      "/%C0%AE%C0%AE/admin reaches an upstream that decodes overlong UTF-8 (old servlet containers, IIS) as /../admin while rules see the escapes",
  },
} as const satisfies Record<PathShape, { readonly found: string; readonly exposes: string }>;

export type PathNormalizer = (rawPath: string) => NormalizedPath;

/**
 * Anything outside printable ASCII, a percent sign, a backslash, a ';', a slash followed by a slash
 * or a dot, or a dot ending a segment needs the slow path. Most real paths have none of these and
 * are returned unchanged, without decoding or splitting; one pass of char codes, no allocation.
 */
function needsWork(path: string): boolean {
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const code = path.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f || code === 0x25 || code === 0x5c || code === 0x3b) return true;
    if (code === 0x2f) {
      const next = path.charCodeAt(i + 1);
      if (next === 0x2f || next === 0x2e) return true;
    } else if (code === 0x2e && (i + 1 === n || path.charCodeAt(i + 1) === 0x2f)) {
      return true;
    }
  }
  return false;
}

// RFC 3986 unreserved: ALPHA DIGIT - . _ ~ (decoded, as Envoy's canonicaliser does).
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

// Escapes of the sub-delims and ":" "@" (RFC 3986 pchar, none a separator in a path: `;` is refused
// as pathParameters and `/` `?` `#` `%` are never decoded). Envoy forwards `%40` as is, but servlet
// containers, Spring and Go's net/http decode it before routing and serve `/%40admin` as `/@admin`,
// so the path is matched decoded: one spelling per path, as for unreserved characters. Matching on
// the decoded form is sound behind any upstream: decoding a non-separator gives the reading a
// decoding upstream makes, and a non-decoding one serves a different, unprotected resource.
function isDecodedSubDelim(byte: number): boolean {
  return (
    byte === 0x21 || // !
    byte === 0x24 || // $
    byte === 0x26 || // &
    byte === 0x27 || // '
    byte === 0x28 || // (
    byte === 0x29 || // )
    byte === 0x2a || // *
    byte === 0x2b || // +
    byte === 0x2c || // ,
    byte === 0x3a || // :
    byte === 0x3d || // =
    byte === 0x40 // @
  );
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

function percentByte(byte: number): string {
  return "%" + byte.toString(16).toUpperCase().padStart(2, "0");
}

const fail = (reason: string): NormalizedPath => ({ ok: false, reason });
const refuseShape = (shape: PathShape): NormalizedPath =>
  fail(`${PATH_SHAPES[shape].found} in the path (shape ${shape}, off by default)`);

/**
 * A UTF-8 well-formedness check fed one byte at a time (Unicode Table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no stray continuation bytes). Escaped and raw non-ASCII bytes
 * go through the same checker, so an escape cannot complete or interrupt a raw character either.
 */
class Utf8Checker {
  /** Continuation bytes still expected. */
  #pending = 0;
  /** Allowed range of the next continuation byte (narrower right after some lead bytes). */
  #low = 0x80;
  #high = 0xbf;

  /** False when the byte breaks well-formedness. */
  accept(byte: number): boolean {
    if (this.#pending > 0) {
      if (byte < this.#low || byte > this.#high) return false;
      this.#pending--;
      this.#low = 0x80;
      this.#high = 0xbf;
      return true;
    }
    if (byte < 0x80) return true;
    if (byte >= 0xc2 && byte <= 0xdf) return this.#lead(1, 0x80, 0xbf);
    if (byte === 0xe0) return this.#lead(2, 0xa0, 0xbf);
    if (byte === 0xed) return this.#lead(2, 0x80, 0x9f);
    if (byte >= 0xe1 && byte <= 0xef) return this.#lead(2, 0x80, 0xbf);
    if (byte === 0xf0) return this.#lead(3, 0x90, 0xbf);
    if (byte === 0xf4) return this.#lead(3, 0x80, 0x8f);
    if (byte >= 0xf1 && byte <= 0xf3) return this.#lead(3, 0x80, 0xbf);
    return false; // 0x80-0xC1 (continuation or overlong lead), 0xF5-0xFF
  }

  /** True when no character is left incomplete. */
  complete(): boolean {
    return this.#pending === 0;
  }

  #lead(pending: number, low: number, high: number): boolean {
    this.#pending = pending;
    this.#low = low;
    this.#high = high;
    return true;
  }
}

/**
 * Builds the normaliser the gate uses; `allowed` names the shapes of PATH_SHAPES to let through
 * (`policy.allowPathShapes`). Rules, in order: query (`?`) and fragment (`#`) cut; must start with
 * "/"; raw control characters, spaces and backslashes rejected; percent-escapes must be well formed;
 * `%2F` / `%5C` (encoded slash and backslash) and encoded control characters rejected; `;`, `%3B`,
 * `%25` and escapes that are not UTF-8 rejected unless allowed; unreserved characters and the
 * sub-delims and `:` `@` other than `;` decoded, other escapes upper-cased, raw non-ASCII
 * percent-encoded as UTF-8; dot segments removed (never above root), a `..` that would remove an
 * empty segment (`/a//../b`, which Envoy reads `/a/b` and Tomcat `/b`) rejected; repeated slashes
 * merged; then a segment ending in `.` or `%20` rejected unless allowed.
 * Long on purpose: normalize is the Check hot path's single pass over the path, performance-tuned.
 */
export function createPathNormalizer(allowed: Iterable<PathShape> = []): PathNormalizer {
  const allow = new Set(allowed);
  const pathParameters = allow.has("pathParameters");
  const encodedPercent = allow.has("encodedPercent");
  const trailingDot = allow.has("trailingDot");
  const trailingWhitespace = allow.has("trailingWhitespace");
  const invalidUtf8 = allow.has("invalidUtf8");

  // One function on purpose: the steps share the pass's state (decoded, utf8, out); split, they would pass it around.
  return function normalize(rawPath: string): NormalizedPath {
    let end = rawPath.length;
    const q = rawPath.indexOf("?");
    if (q !== -1) end = q;
    const h = rawPath.indexOf("#");
    if (h !== -1 && h < end) end = h;
    const path = end === rawPath.length ? rawPath : rawPath.slice(0, end);

    if (path.charCodeAt(0) !== 0x2f) return fail("path must start with /");
    if (!needsWork(path)) return { ok: true, path };

    // 1. Characters and percent-escapes.
    const utf8 = invalidUtf8 ? null : new Utf8Checker();
    let decoded = "";
    for (let i = 0; i < path.length; i++) {
      const code = path.charCodeAt(i);
      if (code === 0x25) {
        const hi = i + 2 < path.length ? hexValue(path.charCodeAt(i + 1)) : -1;
        const lo = hi === -1 ? -1 : hexValue(path.charCodeAt(i + 2));
        if (lo === -1) return fail("malformed percent-escape");
        const byte = hi * 16 + lo;
        if (byte === 0x2f || byte === 0x5c) return fail("encoded slash or backslash");
        if (byte < 0x20 || byte === 0x7f) return fail("encoded control character");
        if (byte === 0x3b && !pathParameters) return refuseShape("pathParameters");
        if (byte === 0x25 && !encodedPercent) return refuseShape("encodedPercent");
        if (utf8 !== null && !utf8.accept(byte)) return refuseShape("invalidUtf8");
        decoded += isUnreserved(byte) || isDecodedSubDelim(byte) ? String.fromCharCode(byte) : percentByte(byte);
        i += 2;
      } else if (code === 0x5c) {
        // Envoy leaves a raw backslash alone, but many upstreams (Windows servers, some frameworks)
        // treat it as a separator; rejecting it keeps our route match and theirs from diverging.
        return fail("backslash in path");
      } else if (code <= 0x20 || code === 0x7f) {
        return fail("control character or space in path");
      } else if (code > 0x7e) {
        // Non-ASCII: canonical form is the UTF-8 bytes percent-encoded, as a URL canonicaliser does.
        const cp = path.codePointAt(i) as number;
        // A lone surrogate has no UTF-8 form; encoding it would silently turn it into U+FFFD.
        if (cp >= 0xd800 && cp <= 0xdfff) {
          if (!invalidUtf8) return refuseShape("invalidUtf8");
          decoded += "%EF%BF%BD";
          continue;
        }
        if (cp > 0xffff) i++;
        for (const byte of Buffer.from(String.fromCodePoint(cp), "utf8")) {
          if (utf8 !== null && !utf8.accept(byte)) return refuseShape("invalidUtf8");
          decoded += percentByte(byte);
        }
      } else {
        if (code === 0x3b && !pathParameters) return refuseShape("pathParameters");
        if (utf8 !== null && !utf8.accept(code)) return refuseShape("invalidUtf8");
        decoded += path[i];
      }
    }
    if (utf8 !== null && !utf8.complete()) return refuseShape("invalidUtf8");

    // 2. Dot segments (RFC 3986 5.2.4), empty segments kept so the slash merge below sees them.
    const segments = decoded.split("/");
    const out: string[] = [];
    let endsInDirectory = false;
    for (let i = 1; i < segments.length; i++) {
      const segment = segments[i] as string;
      if (segment === ".") {
        endsInDirectory = true;
      } else if (segment === "..") {
        // Envoy resolves dot segments before merging slashes (`/public//../admin` is `/public/admin`),
        // Tomcat merges first (`/admin`): a `..` that would remove an empty segment has two readings.
        if (out.length > 0 && out[out.length - 1] === "") return fail("an empty segment before '..' (//..)");
        out.pop();
        endsInDirectory = true;
      } else {
        out.push(segment);
        endsInDirectory = false;
      }
    }

    // 3. What is left of each segment must not end in what upstreams trim. The whole trailing run of
    // dots and %20 is read, so `/admin.%20/` is refused even when only one of the two is allowed.
    if (!trailingDot || !trailingWhitespace) {
      for (const segment of out) {
        const trimmed = trailingRun(segment);
        if ((trimmed & TRAILING_DOT) !== 0 && !trailingDot) return refuseShape("trailingDot");
        if ((trimmed & TRAILING_SPACE) !== 0 && !trailingWhitespace) return refuseShape("trailingWhitespace");
      }
    }

    if (endsInDirectory) out.push("");
    const resolved = "/" + out.join("/");

    // 4. Merge slashes.
    return { ok: true, path: resolved.replace(/\/{2,}/g, "/") };
  };
}

const TRAILING_DOT = 1;
const TRAILING_SPACE = 2;

/** Which trimmable characters the segment ends with (TRAILING_DOT | TRAILING_SPACE): a run of `.` and `%20`, read from the end. */
function trailingRun(segment: string): number {
  let found = 0;
  let i = segment.length;
  for (;;) {
    if (i > 0 && segment.charCodeAt(i - 1) === 0x2e) {
      found |= TRAILING_DOT;
      i--;
    } else if (i >= 3 && segment.endsWith("%20", i)) {
      found |= TRAILING_SPACE;
      i -= 3;
    } else {
      return found;
    }
  }
}

/** The default normaliser: every shape of PATH_SHAPES refused. */
export const normalizePath: PathNormalizer = createPathNormalizer();
