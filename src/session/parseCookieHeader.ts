// Parses a request's Cookie header (RFC 6265 section 5.4, tolerantly): `a=b; c=d`, optional
// surrounding double quotes, malformed pairs skipped. Bounded: at most 200 pairs and 16 KiB are
// read; a pair cut by the byte limit is dropped. A name sent twice, or inside a segment that holds a
// "," (two Cookie headers joined), maps to DUPLICATE_COOKIE.

export type CookieHeaderLimits = { maxPairs: number; maxBytes: number };

export const DEFAULT_COOKIE_HEADER_LIMITS: CookieHeaderLimits = { maxPairs: 200, maxBytes: 16 * 1024 };

/**
 * Stands in for the value of a cookie name that appeared more than once (another path or domain, or
 * cookie tossing from a sibling host): no parsed value can contain a NUL, so it never collides.
 */
export const DUPLICATE_COOKIE = "\u0000duplicate";

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Tolerant on the value: anything printable except the separators that would make it ambiguous.
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/** Splits one `name=value` segment; null when it is malformed. Shared with stripCookies. */
export function parseCookiePair(segment: string): { name: string; value: string } | null {
  const eq = segment.indexOf("=");
  if (eq <= 0) return null;
  const name = segment.slice(0, eq).trim();
  let value = segment.slice(eq + 1).trim();
  if (!COOKIE_NAME.test(name)) return null;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  if (!COOKIE_VALUE.test(value)) return null;
  return { name, value };
}

export function parseCookieHeader(
  header: string | undefined,
  limits: CookieHeaderLimits = DEFAULT_COOKIE_HEADER_LIMITS,
): Map<string, string> {
  const cookies = new Map<string, string>();
  if (typeof header !== "string" || header.length === 0) return cookies;
  let text = header;
  if (text.length > limits.maxBytes) {
    text = text.slice(0, limits.maxBytes);
    // The last segment may be cut in the middle of its value: a truncated value must not be read.
    const lastSeparator = text.lastIndexOf(";");
    text = lastSeparator < 0 ? "" : text.slice(0, lastSeparator);
  }
  const segments = text.split(";");
  const count = Math.min(segments.length, limits.maxPairs);
  for (let i = 0; i < count; i++) {
    const segment = segments[i]!;
    const pair = parseCookiePair(segment);
    if (pair !== null) cookies.set(pair.name, cookies.has(pair.name) ? DUPLICATE_COOKIE : pair.value);
    // No value holds a ",", so a segment with one is never read; but it may be two Cookie headers
    // joined (`a=1, s=…`), which an upstream could read as two cookies. A name in such a segment
    // is never read and makes the name ambiguous (fail safe: a session there is no session).
    else if (segment.includes(",")) {
      for (const part of segment.split(",")) {
        const joined = parseCookiePair(part);
        if (joined !== null) cookies.set(joined.name, DUPLICATE_COOKIE);
      }
    }
  }
  return cookies;
}
