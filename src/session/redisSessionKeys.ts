// The names of the Redis session store's keys and channel, in one place: the store and the session
// admin (which may run in a `serve --workers` supervisor, without the store) must agree on them.
// A session's record and its summary share a hash tag, so they live in one cluster slot.
import { digestPair } from "./digestPair.ts";

/** The encrypted session record. */
export function sessionKeyOf(prefix: string, id: string): string {
  return `${prefix}s:{${id}}`;
}

/** The session's summary (redisSessionSummary): what an operator may list, no token, no identifier. */
export function summaryKeyOf(prefix: string, id: string): string {
  return `${sessionKeyOf(prefix, id)}:meta`;
}

/** The sorted set (member: session id, score: expiry) of a provider's sessions by IdP session id or subject. */
export function indexKeyOf(prefix: string, kind: "sid" | "sub", provider: string, value: string): string {
  return `${prefix}idx:${kind}:${digestPair(provider, value)}`;
}

/** Where a write or delete of a session is published, so every replica drops its in-memory copy. */
export function invalidationChannelOf(prefix: string): string {
  return `${prefix}session-invalidations`;
}
