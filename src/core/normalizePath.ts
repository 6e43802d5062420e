// Normalises a request path the way our Envoy configs do (normalize_path, merge_slashes,
// path_with_escaped_slashes_action: REJECT_REQUEST) so routes are matched on the path the upstream
// will actually serve. Pure string work; the query and fragment are dropped, never interpreted.

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

// Anything outside printable ASCII, a percent sign, a backslash, or a slash followed by a slash or a
// dot needs the slow path. Most real paths match none of these and are returned unchanged.
const NEEDS_WORK = /[^\x21-\x7e]|[%\\]|\/[\/.]/;

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

/**
 * Returns the normalised path, or a reason to reject the request. Rules, in order:
 * query (`?`) and fragment (`#`) cut; must start with "/"; raw control characters, spaces and
 * backslashes rejected; percent-escapes must be well formed; `%2F` / `%5C` (encoded slash and
 * backslash) and encoded control characters rejected; unreserved characters decoded, other escapes
 * upper-cased, raw non-ASCII percent-encoded as UTF-8; dot segments removed (never above root);
 * then repeated slashes merged (Envoy merges after normalising, so `/a//../b` is `/a/b`).
 */
export function normalizePath(rawPath: string): NormalizedPath {
  let end = rawPath.length;
  const q = rawPath.indexOf("?");
  if (q !== -1) end = q;
  const h = rawPath.indexOf("#");
  if (h !== -1 && h < end) end = h;
  const path = end === rawPath.length ? rawPath : rawPath.slice(0, end);

  if (path.charCodeAt(0) !== 0x2f) return fail("path must start with /");
  if (!NEEDS_WORK.test(path)) return { ok: true, path };

  // 1. Characters and percent-escapes.
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
      decoded += isUnreserved(byte) ? String.fromCharCode(byte) : percentByte(byte);
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
      if (cp > 0xffff) i++;
      for (const byte of Buffer.from(String.fromCodePoint(cp), "utf8")) decoded += percentByte(byte);
    } else {
      decoded += path[i];
    }
  }

  // 2. Dot segments (RFC 3986 5.2.4), empty segments kept so the slash merge below sees them.
  const segments = decoded.split("/");
  const out: string[] = [];
  let endsInDirectory = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === ".") {
      endsInDirectory = true;
    } else if (segment === "..") {
      out.pop();
      endsInDirectory = true;
    } else {
      out.push(segment);
      endsInDirectory = false;
    }
  }
  if (endsInDirectory) out.push("");
  const resolved = "/" + out.join("/");

  // 3. Merge slashes.
  return { ok: true, path: resolved.replace(/\/{2,}/g, "/") };
}
