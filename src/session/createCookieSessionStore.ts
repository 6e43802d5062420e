// Sessions sealed whole into cookies (AES-256-GCM, chunked under 4 KB each): nothing is stored
// server-side, so any replica can read any session. A bounded cache of unsealed sessions, keyed by a
// digest of the cookie bytes, saves the decryption on repeat requests.
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock/Clock.ts";
import { createCookieSealer } from "./createCookieSealer.ts";
import { createSessionCookies } from "./createSessionCookies.ts";
import { digestOwnCookies } from "./digestOwnCookies.ts";
import { parseSession, type Session } from "./Session.ts";
import type { RefreshRun, SessionStore, StoreLoad, StoreRefresh } from "./SessionStore.ts";

export interface CookieSessionStoreOptions {
  readonly cookieName: string;
  readonly cookieDomain: string | null;
  readonly keys: readonly string[];
  readonly maxChunks: number;
  /** Unsealed sessions kept, each no longer than it lives. */
  readonly cacheMax: number;
  /** The cookies' default time when a caller gives none; default: the system clock. */
  readonly clock?: Clock;
}

export function createCookieSessionStore(options: CookieSessionStoreOptions): SessionStore {
  const { clock } = options;
  const cookies = createSessionCookies({
    name: options.cookieName,
    domain: options.cookieDomain,
    sealer: createCookieSealer({ keys: options.keys, purpose: "portcullis-session", clock }),
    maxChunks: options.maxChunks,
    clock,
  });
  const unsealed = new LRUCache<string, { session: Session; present: readonly string[] }>({ max: options.cacheMax });

  function load(jar: ReadonlyMap<string, string>, t: number): StoreLoad {
    // The same cookie bytes unseal to the same session: a hit skips the decryption and hands back
    // the same claims object, so the gate reuses its identity headers too. A tampered cookie has
    // other bytes and misses.
    const cacheKey = digestOwnCookies(jar, cookies.owns);
    if (cacheKey === null) return { kind: "none" };
    const cached = unsealed.get(cacheKey);
    if (cached !== undefined) return { kind: "session", session: cached.session, present: cached.present };
    const read = cookies.read(jar, t);
    if (read.present.length === 0) return { kind: "none" };
    const session = read.payload === null ? null : parseSession(read.payload);
    if (session === null) return { kind: "invalid", clear: cookies.clear(read.present) };
    if (session.expiresAt > t)
      unsealed.set(cacheKey, { session, present: read.present }, { ttl: (session.expiresAt - t) * 1000 });
    return { kind: "session", session, present: read.present };
  }

  async function refresh(
    _: Session,
    present: readonly string[],
    run: () => Promise<RefreshRun>,
    t: number,
  ): Promise<StoreRefresh> {
    // Requests of one browser that race share the IdP call in the login client (keyed by refresh
    // token); each writes the same refreshed session back into its response.
    const outcome = await run();
    if (outcome.kind === "refreshed") {
      return {
        kind: "fresh",
        session: outcome.session,
        setCookies: cookies.write(outcome.session, outcome.session.expiresAt, present, t),
      };
    }
    if (outcome.kind === "ended") return { kind: "ended", clear: cookies.clear(present), reason: outcome.reason };
    return { kind: "unavailable", reason: outcome.reason, cause: "idp" };
  }

  return {
    kind: "cookie",
    owns: (name) => cookies.owns(name),
    load,
    create: async (session, jar, t) => cookies.write(session, session.expiresAt, cookies.read(jar, t).present, t),
    refresh,
    async touch(loaded, present, t) {
      const session = { ...loaded, lastSeenAt: t };
      return { session, setCookies: cookies.write(session, session.expiresAt, present, t) };
    },
    destroy: async (_, present) => cookies.clear(present),
    sessionIdOf: (jar, t) => {
      const read = cookies.read(jar, t);
      return read.payload === null ? null : (parseSession(read.payload)?.id ?? null);
    },
    clear: (present) => cookies.clear(present),
    // Nothing is stored: ending a cookie session early is the revocation list's job.
    revoke: async () => 0,
    close: () => unsealed.clear(),
  };
}
