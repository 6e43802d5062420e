// Reads a request's Cookie header with limits that fit a whole chunked session, on the Check path
// and on the auth listener alike.
import { parseCookieHeader } from "../session/parseCookieHeader.ts";

/** A session is sealed into at most this many cookies (< 4 KB each). */
export const SESSION_MAX_CHUNKS = 8;

/**
 * Cookie headers are read up to 48 KiB (Envoy's default request-header limit is 60 KiB), so a
 * session of SESSION_MAX_CHUNKS cookies is read whole wherever it sits in the header.
 */
const COOKIE_LIMITS = { maxPairs: 200, maxBytes: 48 * 1024 };

export function parseSessionCookies(header: string | undefined): Map<string, string> {
  return parseCookieHeader(header, COOKIE_LIMITS);
}
