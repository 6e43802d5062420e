// Where browser sessions live, as browser login (src/login) sees it: in sealed cookies
// (createCookieSessionStore) or in Redis behind a cookie that holds an id and a secret
// (createRedisSessionStore). Both speak in Set-Cookie values; neither decides policy.
import type { Session } from "./Session.ts";

export type StoreLoad =
  | { readonly kind: "none" }
  /** Cookies of ours that cannot be used (tampered, expired, foreign key, gone from the store): clear them. */
  | { readonly kind: "invalid"; readonly clear: readonly string[] }
  | { readonly kind: "session"; readonly session: Session; readonly present: readonly string[] }
  /** The store cannot answer right now (Redis down or slow): the session is neither valid nor invalid. */
  | { readonly kind: "unavailable"; readonly reason: string };

/** What one refresh attempt (the IdP call) produced, as the caller reports it to the store. */
export type RefreshRun =
  | { readonly kind: "refreshed"; readonly session: Session }
  | { readonly kind: "ended"; readonly reason: string }
  | { readonly kind: "unavailable"; readonly reason: string };

export type StoreRefresh =
  | { readonly kind: "fresh"; readonly session: Session; readonly setCookies: readonly string[] }
  | { readonly kind: "ended"; readonly clear: readonly string[]; readonly reason: string }
  /** `idp`: the refresh could not reach the IdP; `store`: the session store could not be used. */
  | { readonly kind: "unavailable"; readonly reason: string; readonly cause: "idp" | "store" };

export interface SessionStore {
  readonly kind: "cookie" | "redis";
  /** Whether a cookie name is one of the store's. */
  owns(name: string): boolean;
  load(cookies: ReadonlyMap<string, string>, nowSeconds: number): StoreLoad | Promise<StoreLoad>;
  /**
   * Keeps a new session (a completed login); returns its Set-Cookie values. `userAgent`: the login's
   * User-Agent, of which the Redis store keeps a short digest for the session admin's listing (the
   * cookie store keeps nothing of it: its sessions cannot be listed). `replaces`: the session this
   * store loaded from the same cookies, which the new one replaces: the Redis store deletes it in the
   * same transaction as it writes the new one (both or neither) and every replica forgets it; the
   * cookie store has nothing to delete (the caller revokes its id). Throws SessionStoreUnavailableError.
   */
  create(
    session: Session,
    cookies: ReadonlyMap<string, string>,
    nowSeconds: number,
    userAgent?: string | null,
    replaces?: Session | null,
  ): Promise<readonly string[]>;
  /**
   * Refreshes a session once: `run` calls the IdP. The cookie store runs it for this request; the
   * Redis store runs it on one replica at a time and hands the result to the others.
   */
  refresh(
    session: Session,
    present: readonly string[],
    run: () => Promise<RefreshRun>,
    nowSeconds: number,
  ): Promise<StoreRefresh>;
  /**
   * Keeps `nowSeconds` as the session's last-seen time: the cookie store re-seals the cookie (its
   * Set-Cookie values come back); the Redis store rewrites the record, never one that is gone.
   * `session` is one this store loaded. Throws SessionStoreUnavailableError.
   */
  touch(
    session: Session,
    present: readonly string[],
    nowSeconds: number,
  ): Promise<{ readonly session: Session; readonly setCookies: readonly string[] }>;
  /** Ends a session (sign-out): forgets it in the store and returns the cookies that clear it. */
  destroy(session: Session | null, present: readonly string[]): Promise<readonly string[]>;
  /**
   * The id of the session the cookies name, read from the cookie alone (no Redis): what a sign-out
   * can still record when the store cannot answer. Null when the cookies name none (or, for the
   * cookie store, when the cookie cannot be unsealed: then there is no session to end).
   */
  sessionIdOf(cookies: ReadonlyMap<string, string>, nowSeconds: number): string | null;
  /** Set-Cookie values that delete the named cookies of ours. */
  clear(present: readonly string[]): readonly string[];
  /** Deletes every stored session of this provider with this IdP session id or subject; returns how many. */
  revoke(provider: string, by: { readonly sid: string | null; readonly sub: string | null }): Promise<number>;
  close(): void;
}

/** The session store (Redis) could not be reached or did not answer in time. */
export class SessionStoreUnavailableError extends Error {
  override readonly name = "SessionStoreUnavailableError";
  readonly code = "session_store_unavailable";
}
