// Keeps pending browser logins in short-lived sealed cookies `${prefix}.${id}`, id = 16 base64url chars
// of SHA-256(state): per-login names, because tabs opened at once (a browser restoring them) all send
// an empty jar and numbered slots gave them all `.0`, overwriting each other. issue() answers with ONE
// Set-Cookie (a denied ext_authz response carries only one); once maxPending logins are live it
// overwrites the oldest one's name. take() expires the cookie it found (one use). Reads <= MAX_SCAN.

import { createHash, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock/Clock.ts";
import { epochSeconds } from "../clock/epochSeconds.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { CookieSealer } from "./createCookieSealer.ts";
import { parseLoginTransaction, type LoginTransaction } from "./LoginTransaction.ts";
import { DUPLICATE_COOKIE } from "./parseCookieHeader.ts";
import { isCookieName, portcullisCookieAttributes, serializeCookie, type CookieAttributes } from "./serializeCookie.ts";

export type LoginTransactionCookiesOptions = {
  prefix: string;
  domain: string | null;
  sealer: CookieSealer;
  ttlSeconds: number;
  maxPending: number;
  /** The default time of issue() and take(); default: the system clock. */
  clock?: Clock;
};

export type TakenLoginTransaction = { txn: LoginTransaction | null; clear: string[] };

export type LoginTransactionCookies = {
  issue(txn: LoginTransaction, cookies: ReadonlyMap<string, string>, now?: number): string[];
  take(state: string, cookies: ReadonlyMap<string, string>, now?: number): TakenLoginTransaction;
  owns(name: string): boolean;
};

/** The issue's ceiling for a pending login: ten minutes. */
export const MAX_LOGIN_TRANSACTION_TTL_SECONDS = 600;
/** Pending logins per browser at most (the maxPending option's ceiling). */
export const MAX_PENDING_LOGINS_LIMIT = 20;
/**
 * Login cookies of ours read (and unsealed) per issue or take at most; the rest are ignored. Twice the
 * limit, so a jar holding maxPending live logins plus as many dead ones (expired, tampered, or written
 * by tabs racing each other) still shows every live one.
 */
export const MAX_SCAN = 2 * MAX_PENDING_LOGINS_LIMIT;
// A state is ours when it is at most this long; anything longer is refused before hashing.
const MAX_STATE_LENGTH = 512;
const ID_LENGTH = 16;
const ID = /^[A-Za-z0-9_-]{16}$/;

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

type Pending = { name: string; txn: LoginTransaction };

function checkOptions({ prefix, domain, ttlSeconds, maxPending }: LoginTransactionCookiesOptions): void {
  if (!isCookieName(prefix))
    throw new Error(`login cookie prefix ${JSON.stringify(prefix)} is not a valid cookie name`);
  if (prefix.startsWith("__Host-") && domain !== null) {
    throw new Error(`login cookie prefix ${prefix}: the __Host- prefix cannot be used with a cookie domain`);
  }
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LOGIN_TRANSACTION_TTL_SECONDS) {
    throw new Error(`login cookies: ttlSeconds must be an integer from 1 to ${MAX_LOGIN_TRANSACTION_TTL_SECONDS}`);
  }
  if (!Number.isSafeInteger(maxPending) || maxPending < 1 || maxPending > MAX_PENDING_LOGINS_LIMIT) {
    throw new Error(`login cookies: maxPending must be an integer from 1 to ${MAX_PENDING_LOGINS_LIMIT}`);
  }
}

/** The oldest pending login; on a tie, the one whose name sorts first. */
function oldestOf(live: readonly Pending[]): Pending {
  let oldest = live[0]!;
  for (const pending of live) {
    const older = pending.txn.createdAt < oldest.txn.createdAt;
    const tie = pending.txn.createdAt === oldest.txn.createdAt && pending.name < oldest.name;
    if (older || tie) oldest = pending;
  }
  return oldest;
}

export function createLoginTransactionCookies(options: LoginTransactionCookiesOptions): LoginTransactionCookies {
  const { prefix, domain, sealer, ttlSeconds, maxPending } = options;
  const clock = options.clock ?? systemClock;
  const nowSeconds = () => epochSeconds(clock);
  checkOptions(options);
  const attributes = (maxAge: number): CookieAttributes => portcullisCookieAttributes(domain, maxAge);
  // Validates the domain and prefix rules at start-up.
  serializeCookie(`${prefix}.${"A".repeat(ID_LENGTH)}`, "", attributes(0));

  const namePrefix = `${prefix}.`;
  const nameOf = (stateDigest: Buffer): string =>
    `${namePrefix}${stateDigest.toString("base64url").slice(0, ID_LENGTH)}`;

  function owns(name: string): boolean {
    return typeof name === "string" && name.startsWith(namePrefix) && ID.test(name.slice(namePrefix.length));
  }

  /** The first MAX_SCAN names of ours in the jar, in header order; the rest are not read. */
  function ownNames(cookies: ReadonlyMap<string, string>, skip: string | null): string[] {
    const names: string[] = [];
    for (const name of cookies.keys()) {
      if (names.length >= MAX_SCAN) break;
      if (name !== skip && owns(name)) names.push(name);
    }
    return names;
  }

  /** The live transaction under a name; null for an absent, duplicated, unreadable or expired cookie. */
  function read(name: string, cookies: ReadonlyMap<string, string>, now: number): LoginTransaction | null {
    const value = cookies.get(name);
    if (value === undefined || value === DUPLICATE_COOKIE) return null;
    const payload = sealer.unseal(value, now);
    return payload === null ? null : parseLoginTransaction(payload);
  }

  function issue(txn: LoginTransaction, cookies: ReadonlyMap<string, string>, now: number = nowSeconds()): string[] {
    const checked = parseLoginTransaction(txn as unknown as Record<string, unknown>);
    if (checked === null || checked.state.length > MAX_STATE_LENGTH) {
      throw new TypeError("login cookies: not a valid login transaction");
    }
    const live: Pending[] = [];
    for (const name of ownNames(cookies, null)) {
      const pending = read(name, cookies, now);
      if (pending !== null) live.push({ name, txn: pending });
    }
    // Overwriting the oldest live login keeps at most maxPending of them with one Set-Cookie.
    const name = live.length >= maxPending ? oldestOf(live).name : nameOf(digest(checked.state));
    const sealed = sealer.seal(checked, now + ttlSeconds);
    return [serializeCookie(name, sealed, attributes(ttlSeconds))];
  }

  function take(
    state: string,
    cookies: ReadonlyMap<string, string>,
    now: number = nowSeconds(),
  ): TakenLoginTransaction {
    if (typeof state !== "string" || state.length === 0 || state.length > MAX_STATE_LENGTH) {
      return { txn: null, clear: [] };
    }
    const wanted = digest(state);
    const own = nameOf(wanted);
    // The state's own name first; a login written over an evicted login's name sits under another id.
    const candidates = cookies.has(own)
      ? [own, ...ownNames(cookies, own).slice(0, MAX_SCAN - 1)]
      : ownNames(cookies, null);
    for (const name of candidates) {
      const txn = read(name, cookies, now);
      // Fixed-length digests compared in constant time, so the comparison does not leak the state.
      if (txn !== null && timingSafeEqual(digest(txn.state), wanted)) {
        return { txn, clear: [serializeCookie(name, "", attributes(0))] };
      }
    }
    return { txn: null, clear: [] };
  }

  return { issue, take, owns };
}
