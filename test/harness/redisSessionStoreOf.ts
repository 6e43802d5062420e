// The Redis session store a test replica of `config` keeps on its own connection, with the session
// settings the pipeline takes from the config and a fixed 2 s refresh lease; `extra` adds what a test
// watches (events, its clock).
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import type { RedisConnection } from "../../src/session/createRedisConnection.ts";
import { createRedisSessionStore, type RedisSessionStoreOptions } from "../../src/session/createRedisSessionStore.ts";
import type { SessionStore } from "../../src/session/SessionStore.ts";

export function redisSessionStoreOf(
  config: PortcullisConfig,
  connection: RedisConnection,
  extra: Partial<Pick<RedisSessionStoreOptions, "events" | "clock">> = {},
): SessionStore {
  return createRedisSessionStore({
    connection,
    cookieName: config.session.cookieName,
    cookieDomain: config.session.cookieDomain,
    keys: config.session.keys,
    lifetimeSeconds: config.session.lifetimeSeconds,
    lockTtlMs: () => 2_000,
    ...extra,
  });
}
