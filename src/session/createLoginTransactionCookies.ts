// Keeps pending browser logins in short-lived sealed cookies `${prefix}.${slot}`, slot 0..maxPending-1,
// so several tabs can log in at once. issue() answers with exactly ONE Set-Cookie (a denied ext_authz
// response carries only one): it fills the first free slot, else overwrites the oldest pending login.
// take() finds the transaction for a callback's state in any slot and expires that slot (one use).

import { createHash, timingSafeEqual } from "node:crypto";
import type { CookieSealer } from "./createCookieSealer.ts";
import { parseLoginTransaction, type LoginTransaction } from "./LoginTransaction.ts";
import { DUPLICATE_COOKIE } from "./parseCookieHeader.ts";
import { isCookieName, serializeCookie, type CookieAttributes } from "./serializeCookie.ts";

export type LoginTransactionCookiesOptions = {
  prefix: string;
  domain: string | null;
  sealer: CookieSealer;
  ttlSeconds: number;
  maxPending: number;
};

export type TakenLoginTransaction = { txn: LoginTransaction | null; clear: string[] };

export type LoginTransactionCookies = {
  issue(txn: LoginTransaction, cookies: ReadonlyMap<string, string>, now?: number): string[];
  take(state: string, cookies: ReadonlyMap<string, string>, now?: number): TakenLoginTransaction;
  owns(name: string): boolean;
};

/** The issue's ceiling for a pending login: ten minutes. */
export const MAX_LOGIN_TRANSACTION_TTL_SECONDS = 600;
/** Slots per browser at most; every issue and take unseals up to this many cookies. */
export const MAX_PENDING_LOGINS_LIMIT = 20;
// A state is ours when it is at most this long; anything longer is refused before hashing.
const MAX_STATE_LENGTH = 512;
// Decimal without leading zeros, so each slot has exactly one name.
const SLOT = /^(0|[1-9][0-9]?)$/;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export function createLoginTransactionCookies(options: LoginTransactionCookiesOptions): LoginTransactionCookies {
  const { prefix, domain, sealer, ttlSeconds, maxPending } = options;
  if (!isCookieName(prefix)) throw new Error(`login cookie prefix ${JSON.stringify(prefix)} is not a valid cookie name`);
  if (prefix.startsWith("__Host-") && domain !== null) {
    throw new Error(`login cookie prefix ${prefix}: the __Host- prefix cannot be used with a cookie domain`);
  }
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LOGIN_TRANSACTION_TTL_SECONDS) {
    throw new Error(`login cookies: ttlSeconds must be an integer from 1 to ${MAX_LOGIN_TRANSACTION_TTL_SECONDS}`);
  }
  if (!Number.isSafeInteger(maxPending) || maxPending < 1 || maxPending > MAX_PENDING_LOGINS_LIMIT) {
    throw new Error(`login cookies: maxPending must be an integer from 1 to ${MAX_PENDING_LOGINS_LIMIT}`);
  }
  const attributes = (maxAge: number): CookieAttributes => ({
    path: "/",
    domain,
    maxAge,
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
  });
  // Validates the domain and prefix rules at start-up.
  serializeCookie(`${prefix}.${maxPending - 1}`, "", attributes(0));

  const slotName = (slot: number): string => `${prefix}.${slot}`;

  function owns(name: string): boolean {
    if (!name.startsWith(`${prefix}.`)) return false;
    const suffix = name.slice(prefix.length + 1);
    return SLOT.test(suffix) && Number(suffix) < maxPending;
  }

  /** The live transaction in a slot; null for an absent, duplicated, unreadable or expired cookie. */
  function readSlot(slot: number, cookies: ReadonlyMap<string, string>, now: number): LoginTransaction | null {
    const value = cookies.get(slotName(slot));
    if (value === undefined || value === DUPLICATE_COOKIE) return null;
    const payload = sealer.unseal(value, now);
    return payload === null ? null : parseLoginTransaction(payload);
  }

  function issue(txn: LoginTransaction, cookies: ReadonlyMap<string, string>, now: number = nowSeconds()): string[] {
    const checked = parseLoginTransaction(txn as unknown as Record<string, unknown>);
    if (checked === null) throw new TypeError("login cookies: not a valid login transaction");
    // The first free slot; when all hold live logins, the oldest one is overwritten (lowest slot on a tie).
    let chosen = -1;
    let oldest = Number.POSITIVE_INFINITY;
    for (let slot = 0; slot < maxPending; slot++) {
      const pending = readSlot(slot, cookies, now);
      if (pending === null) {
        chosen = slot;
        break;
      }
      if (pending.createdAt < oldest) {
        oldest = pending.createdAt;
        chosen = slot;
      }
    }
    const sealed = sealer.seal(checked, now + ttlSeconds);
    return [serializeCookie(slotName(chosen), sealed, attributes(ttlSeconds))];
  }

  function take(state: string, cookies: ReadonlyMap<string, string>, now: number = nowSeconds()): TakenLoginTransaction {
    if (typeof state !== "string" || state.length === 0 || state.length > MAX_STATE_LENGTH) {
      return { txn: null, clear: [] };
    }
    const wanted = digest(state);
    for (let slot = 0; slot < maxPending; slot++) {
      const txn = readSlot(slot, cookies, now);
      // Fixed-length digests compared in constant time, so the comparison does not leak the state.
      if (txn !== null && timingSafeEqual(digest(txn.state), wanted)) {
        return { txn, clear: [serializeCookie(slotName(slot), "", attributes(0))] };
      }
    }
    return { txn: null, clear: [] };
  }

  return { issue, take, owns };
}
