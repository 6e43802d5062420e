// Keeps each pending browser login in its own short-lived sealed cookie `${prefix}.${id}`, id derived
// from the state, so several tabs can log in at once. At most maxPending stay: issuing one more
// expires the oldest. take() finds the one for a callback's state and always expires it (one use).

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
const ID_LENGTH = 16;
const ID = /^[A-Za-z0-9_-]{16}$/;
// A state is ours when it is at most this long; anything longer is refused before hashing.
const MAX_STATE_LENGTH = 512;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The cookie id for a state: a hash prefix, so the cookie name does not reveal the state itself. */
export function loginTransactionId(state: string): string {
  return digest(state).toString("base64url").slice(0, ID_LENGTH);
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
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new Error("login cookies: maxPending must be a positive integer");
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
  serializeCookie(`${prefix}.${"A".repeat(ID_LENGTH)}`, "", attributes(0));

  const cookieName = (state: string): string => `${prefix}.${loginTransactionId(state)}`;
  const expire = (name: string): string => serializeCookie(name, "", attributes(0));

  function owns(name: string): boolean {
    return name.startsWith(`${prefix}.`) && ID.test(name.slice(prefix.length + 1));
  }

  function createdAtOf(value: string, now: number): number {
    if (value === DUPLICATE_COOKIE) return Number.NEGATIVE_INFINITY;
    const payload = sealer.unseal(value, now);
    const txn = payload === null ? null : parseLoginTransaction(payload);
    // Unreadable or expired cookies are evicted first.
    return txn === null ? Number.NEGATIVE_INFINITY : txn.createdAt;
  }

  function issue(txn: LoginTransaction, cookies: ReadonlyMap<string, string>, now: number = nowSeconds()): string[] {
    const checked = parseLoginTransaction(txn as unknown as Record<string, unknown>);
    if (checked === null) throw new TypeError("login cookies: not a valid login transaction");
    const name = cookieName(checked.state);
    const sealed = sealer.seal(checked, now + ttlSeconds);
    const headers = [serializeCookie(name, sealed, attributes(ttlSeconds))];
    const others = [...cookies.keys()].filter((other) => owns(other) && other !== name);
    const excess = others.length + 1 - maxPending;
    if (excess > 0) {
      const oldestFirst = others
        .map((other) => ({ name: other, createdAt: createdAtOf(cookies.get(other)!, now) }))
        .sort((a, b) => a.createdAt - b.createdAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const old of oldestFirst.slice(0, excess)) headers.push(expire(old.name));
    }
    return headers;
  }

  function take(state: string, cookies: ReadonlyMap<string, string>, now: number = nowSeconds()): TakenLoginTransaction {
    if (typeof state !== "string" || state.length === 0 || state.length > MAX_STATE_LENGTH) {
      return { txn: null, clear: [] };
    }
    const name = cookieName(state);
    const value = cookies.get(name);
    if (value === undefined) return { txn: null, clear: [] };
    // Whatever it holds, this cookie is used up now: a replayed callback finds nothing.
    const clear = [expire(name)];
    if (value === DUPLICATE_COOKIE) return { txn: null, clear };
    const payload = sealer.unseal(value, now);
    const txn = payload === null ? null : parseLoginTransaction(payload);
    if (txn === null) return { txn: null, clear };
    // Compare fixed-length digests in constant time; the id match alone is only a 96-bit hash prefix.
    if (!timingSafeEqual(digest(txn.state), digest(state))) return { txn: null, clear };
    return { txn, clear };
  }

  return { issue, take, owns };
}
