// Carries a sealed session in one or more cookies: `name` holds "<count>.<first part>", then
// `name.1`, `name.2`, … hold the rest, each Set-Cookie under 4,000 bytes. A set that cannot be
// reassembled exactly (missing, extra or duplicated chunk, bad count) reads as no session.

import type { Clock } from "../clock/Clock.ts";
import { epochSeconds } from "../clock/epochSeconds.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { CookieSealer } from "./createCookieSealer.ts";
import { DUPLICATE_COOKIE } from "./parseCookieHeader.ts";
import { SessionTooLargeError } from "./SessionTooLargeError.ts";
import { isCookieName, portcullisCookieAttributes, serializeCookie, type CookieAttributes } from "./serializeCookie.ts";

export type SessionCookiesOptions = {
  name: string;
  domain: string | null;
  sealer: CookieSealer;
  maxChunks?: number;
  /** The default time of read() and write(); default: the system clock. */
  clock?: Clock;
};

export type SessionCookieRead = { payload: Record<string, unknown> | null; present: string[] };

export type SessionCookies = {
  read(cookies: ReadonlyMap<string, string>, now?: number): SessionCookieRead;
  write(payload: object, expiresAt: number, present: readonly string[], now?: number): string[];
  clear(present: readonly string[]): string[];
  owns(name: string): boolean;
};

export const DEFAULT_SESSION_MAX_CHUNKS = 8;
/** Every Set-Cookie header value we produce is strictly shorter than this, in bytes. */
export const MAX_SET_COOKIE_BYTES = 4000;
const MAX_CHUNKS_LIMIT = 50;
// Browsers cap Max-Age at 400 days (RFC 6265bis); capping it ourselves bounds its digits, so the
// room reserved for "Max-Age=<n>" is exact and chunk boundaries do not depend on the clock.
const MAX_AGE_CAP_SECONDS = 400 * 24 * 60 * 60;
const MAX_AGE_DIGITS = String(MAX_AGE_CAP_SECONDS).length;
const COUNT_PREFIX = /^([1-9][0-9]?)\.(.+)$/;
const CHUNK_SUFFIX = /^[1-9][0-9]{0,2}$/;

function checkOptions(name: string, domain: string | null, maxChunks: number): void {
  if (!isCookieName(name)) throw new Error(`session cookie name ${JSON.stringify(name)} is not a valid cookie name`);
  if (name.startsWith("__Host-") && domain !== null) {
    throw new Error(`session cookie name ${name}: the __Host- prefix cannot be used with a cookie domain`);
  }
  if (!Number.isSafeInteger(maxChunks) || maxChunks < 1 || maxChunks > MAX_CHUNKS_LIMIT) {
    throw new Error(`session cookies: maxChunks must be an integer from 1 to ${MAX_CHUNKS_LIMIT}`);
  }
}

/** The sealed value cut into parts, each of whose Set-Cookie headers stays under MAX_SET_COOKIE_BYTES. */
function splitSealed(
  sealed: string,
  layout: {
    readonly maxChunks: number;
    readonly chunkName: (index: number) => string;
    readonly attributeBytes: number;
  },
): string[] {
  const countDigits = String(layout.maxChunks).length + 1; // "<count>."
  const parts: string[] = [];
  let offset = 0;
  while (offset < sealed.length) {
    const index = parts.length;
    const overhead =
      Buffer.byteLength(`${layout.chunkName(index)}=`) + layout.attributeBytes + (index === 0 ? countDigits : 0);
    const room = MAX_SET_COOKIE_BYTES - 1 - overhead;
    parts.push(sealed.slice(offset, offset + room));
    offset += room;
  }
  return parts;
}

export function createSessionCookies(options: SessionCookiesOptions): SessionCookies {
  const { name, domain, sealer } = options;
  const clock = options.clock ?? systemClock;
  const nowSeconds = () => epochSeconds(clock);
  const maxChunks = options.maxChunks ?? DEFAULT_SESSION_MAX_CHUNKS;
  checkOptions(name, domain, maxChunks);
  const attributes = (maxAge: number): CookieAttributes => portcullisCookieAttributes(domain, maxAge);
  // Validates the domain and prefix rules once, at start-up, rather than on the first login.
  const expiredTemplate = serializeCookie(name, "", attributes(0));
  const attributeBytes = Buffer.byteLength(expiredTemplate) - Buffer.byteLength(`${name}=`) - 1 + MAX_AGE_DIGITS;

  const chunkName = (index: number): string => (index === 0 ? name : `${name}.${index}`);

  function owns(candidate: string): boolean {
    if (candidate === name) return true;
    if (!candidate.startsWith(`${name}.`)) return false;
    return CHUNK_SUFFIX.test(candidate.slice(name.length + 1));
  }

  function chunkIndex(candidate: string): number {
    return candidate === name ? 0 : Number(candidate.slice(name.length + 1));
  }

  function ours(names: Iterable<string>): string[] {
    const unique = [...new Set([...names].filter(owns))];
    return unique.sort((a, b) => chunkIndex(a) - chunkIndex(b));
  }

  function expire(cookieName: string): string {
    return serializeCookie(cookieName, "", attributes(0));
  }

  function read(cookies: ReadonlyMap<string, string>, now: number = nowSeconds()): SessionCookieRead {
    const present = ours(cookies.keys());
    const none = { payload: null, present };
    const first = cookies.get(name);
    if (first === undefined || first === DUPLICATE_COOKIE) return none;
    const match = COUNT_PREFIX.exec(first);
    if (match === null) return none;
    const count = Number(match[1]);
    if (count > maxChunks || present.length !== count) return none;
    const parts = [match[2]!];
    for (let index = 1; index < count; index++) {
      const part = cookies.get(chunkName(index));
      if (part === undefined || part === DUPLICATE_COOKIE || part.length === 0) return none;
      parts.push(part);
    }
    // present.length === count and every expected name was found, so no stray chunk is left over.
    return { payload: sealer.unseal(parts.join(""), now), present };
  }

  function write(payload: object, expiresAt: number, present: readonly string[], now: number = nowSeconds()): string[] {
    const maxAge = Math.min(Math.floor(expiresAt - now), MAX_AGE_CAP_SECONDS);
    // A session that is already over is written as its absence.
    if (!Number.isFinite(maxAge) || maxAge <= 0) return clear(present);
    const sealed = sealer.seal(payload, expiresAt);
    const parts = splitSealed(sealed, { maxChunks, chunkName, attributeBytes });
    if (parts.length > maxChunks) throw new SessionTooLargeError(sealed.length, parts.length, maxChunks);
    const headers = parts.map((part, index) =>
      serializeCookie(chunkName(index), index === 0 ? `${parts.length}.${part}` : part, attributes(maxAge)),
    );
    const used = new Set(parts.map((_, index) => chunkName(index)));
    for (const stale of ours(present)) if (!used.has(stale)) headers.push(expire(stale));
    return headers;
  }

  // The base cookie comes first (ours() sorts it to the front): a denied ext_authz response carries
  // only one Set-Cookie, and expiring the base alone already makes the whole set unreadable.
  function clear(present: readonly string[]): string[] {
    return ours(present).map(expire);
  }

  return { read, write, clear, owns };
}
