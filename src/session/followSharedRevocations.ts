// Keeps a replica's revocations in step with the shared list in Redis: every published revocation
// is applied as it arrives, and the whole hash is re-read whenever the connection (or the
// subscription) comes back and once a minute anyway, since pub/sub delivers at most once.
import { performance } from "node:perf_hooks";
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import { epochSeconds } from "../clock/epochSeconds.ts";
import { describeRedisError, type RedisConnection } from "./createRedisConnection.ts";
import type { RevocationEntries } from "./createRevocationEntries.ts";
import { redisFailureOutcome, type RedisOperationEvents } from "./RedisOperationEvents.ts";

/** Re-read the shared list this often even when no connection dropped: pub/sub delivers at most once. */
const RESYNC_INTERVAL_MS = 60_000;

export interface SharedRevocations {
  /** The hash holding every revocation; also the channel they are published on. */
  readonly hashKey: string;
  readonly entries: RevocationEntries;
  readonly clock: Clock;
  readonly events?: RedisOperationEvents;
  readonly logger?: { warn(obj: object, msg: string): void };
}

/** Returns the resync timer, for close(). */
export function followSharedRevocations(connection: RedisConnection, shared: SharedRevocations): ClockTimer {
  const { hashKey, entries, events, logger } = shared;
  const channel = hashKey;
  const sync = () => {
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    void resync(connection, shared).then(
      () => events?.operation("revocation", "ok", seconds()),
      (err: unknown) => {
        events?.operation("revocation", redisFailureOutcome(err), seconds());
        logger?.warn({ error: describeRedisError(err) }, "could not read the shared revocation list; will retry");
      },
    );
  };
  const subscriber = connection.subscriber();
  subscriber.on("message", (from: string, message: string) => {
    if (from === channel) entries.apply(message);
  });
  // (Re)subscribed: read everything published while this replica was away.
  subscriber.on("ready", () => {
    void subscriber.subscribe(channel).then(sync, () => undefined);
  });
  connection.client.on("ready", sync);
  return shared.clock.setInterval(sync, RESYNC_INTERVAL_MS);
}

async function resync(connection: RedisConnection, { hashKey, entries, clock }: SharedRevocations): Promise<void> {
  const client = connection.client;
  // In pages, so a long list never blocks Redis or this process in one go.
  let cursor = "0";
  do {
    const [next, flat] = await client.hscan(hashKey, cursor, "COUNT", 1000);
    cursor = next;
    const expired: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const field = flat[i] as string;
      const [revokedAt, expiresAt] = (flat[i + 1] as string).split(":").map(Number) as [number, number];
      if (!(expiresAt > epochSeconds(clock))) expired.push(field);
      else entries.apply(`${field}=${revokedAt}:${expiresAt}`);
    }
    // Hash fields cannot expire by themselves (before Redis 7.4): whoever sees old ones removes them.
    if (expired.length > 0) await client.hdel(hashKey, ...expired);
  } while (cursor !== "0");
}
