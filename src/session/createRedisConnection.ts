// One Redis connection per process (plus one for pub/sub), made from the `redis` config: timeouts on
// connect and on every command, reconnects with a capped back-off forever, TLS with an optional CA
// file, password/ACL user, Sentinel. Commands never queue while Redis is away: they fail at once,
// so a Check answers 503 instead of waiting, and the connection recovers by itself. A Redis that
// keeps the connection open but stops answering (hung, frozen, swapping) raises no connection
// event: a PING every second, with the command timeout, tells it apart.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Redis, RedisOptions } from "ioredis";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { RedisConfig } from "../config/PortcullisConfig.ts";

const requireHere = createRequire(import.meta.url);

export interface RedisConnection {
  /** Commands (sessions, locks, revocations). */
  readonly client: Redis;
  /** A second connection in subscriber mode, made on first use. */
  subscriber(): Redis;
  /** Every key and channel starts with this. */
  readonly prefix: string;
  /** Each command's timeout (`redis.commandTimeoutMs`). */
  readonly commandTimeoutMs: number;
  /** Whether the command connection is ready and Redis answered its last health PINGs in time. */
  isUp(): boolean;
  close(): Promise<void>;
}

export interface RedisConnectionEvents {
  /** Called when the command connection becomes ready (true) or is lost (false); not repeated. */
  upChanged?(up: boolean, detail: string): void;
}

/** Reconnect back-off: 50 ms, 100 ms, … capped at 2 s, forever. */
const MAX_BACKOFF_MS = 2_000;
/** How often the command connection is probed with a PING while it is ready. */
export const HEALTH_PROBE_INTERVAL_MS = 1_000;
/**
 * Consecutive PINGs that must time out (or fail) before Redis counts as down: one slow answer on a
 * starved machine is not an outage, two in a row (a second or more without an answer) is. The
 * next PING answered in time counts it up again.
 */
export const HEALTH_PROBE_FAILURES_DOWN = 2;

/** `clock` sets the health PING timer. */
export function createRedisConnection(
  config: RedisConfig,
  events: RedisConnectionEvents = {},
  clock: Clock = systemClock,
): RedisConnection {
  const options = redisOptions(config);
  const client = new (loadIoredis().Redis)(options);
  let subscriber: Redis | null = null;
  // Up = connected (connection events) and answering (health PINGs); changes are reported once.
  let connected = false;
  let answering = true;
  let up = false;
  let failedProbes = 0;
  let probing = false;
  const report = (detail: string) => {
    const next = connected && answering;
    if (next === up) return;
    up = next;
    events.upChanged?.(next, detail);
  };
  client.on("ready", () => {
    connected = true;
    answering = true;
    failedProbes = 0;
    report("connected");
  });
  // ioredis emits "error" for every failed attempt; the state change is reported once, and the
  // message (host, port, errno) never holds the password.
  const lost = (detail: string) => {
    connected = false;
    report(detail);
  };
  client.on("error", (err: Error) => lost(describeRedisError(err)));
  client.on("close", () => lost("connection closed"));
  client.on("end", () => lost("connection ended"));
  const probe = clock.setInterval(() => {
    if (probing || client.status !== "ready") return;
    probing = true;
    client
      .ping()
      .then(
        () => {
          failedProbes = 0;
          answering = true;
          report("answering again");
        },
        (err: unknown) => {
          failedProbes += 1;
          if (failedProbes >= HEALTH_PROBE_FAILURES_DOWN) {
            answering = false;
            report(
              `${describeRedisError(err)}: no answer within redis.commandTimeoutMs (${config.commandTimeoutMs} ms) to ${failedProbes} health checks in a row`,
            );
          }
        },
      )
      .finally(() => {
        probing = false;
      });
  }, HEALTH_PROBE_INTERVAL_MS);
  return {
    client,
    prefix: config.keyPrefix,
    commandTimeoutMs: config.commandTimeoutMs,
    subscriber() {
      if (subscriber === null) {
        subscriber = client.duplicate();
        subscriber.on("error", () => undefined);
      }
      return subscriber;
    },
    isUp: () => up && client.status === "ready",
    async close() {
      probe.cancel();
      const all = [client, ...(subscriber === null ? [] : [subscriber])];
      await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

export function redisOptions(config: RedisConfig): RedisOptions {
  const url = config.url === null ? null : new URL(config.url);
  const tls = url?.protocol === "rediss:";
  const db = url === null || url.pathname === "" || url.pathname === "/" ? 0 : Number(url.pathname.slice(1));
  const options: RedisOptions = {
    db,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    // Fail fast while disconnected instead of queueing checks behind a dead connection.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(times * 50, MAX_BACKOFF_MS),
    lazyConnect: false,
    enableReadyCheck: true,
    // Commands issued in the same tick (many checks at once) travel in one write.
    enableAutoPipelining: true,
    ...(config.username !== null ? { username: config.username } : {}),
    ...(config.password !== null ? { password: config.password } : {}),
  };
  if (tls && url !== null) {
    options.tls = {
      servername: url.hostname,
      ...(config.caFile !== null ? { ca: readFileSync(config.caFile) } : {}),
    };
  }
  if (config.sentinels.length > 0) {
    options.sentinels = config.sentinels.map((s) => ({ host: s.host, port: s.port }));
    options.name = config.sentinelMaster ?? undefined;
    if (config.password !== null) options.sentinelPassword = config.password;
    if (tls) options.enableTLSForSentinelMode = true;
  } else if (url !== null) {
    options.host = url.hostname.replace(/^\[|\]$/g, "");
    options.port = url.port === "" ? 6379 : Number(url.port);
  }
  return options;
}

/** A log-safe description of a Redis failure: its class and code, never a reply that may quote data. */
export function describeRedisError(err: unknown): string {
  if (!(err instanceof Error)) return "unknown Redis failure";
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return `${err.name} (${code})`;
  if (/timed? ?out/i.test(err.message)) return `${err.name} (timeout)`;
  if (/writeable|connection is closed|stream/i.test(err.message)) return `${err.name} (not connected)`;
  return err.name;
}

/**
 * The Redis client library, loaded on first use: a process without `redis` configured never loads
 * it (about 20 MB of RSS and tens of ms of start-up). ioredis is CommonJS, so `require` loads it
 * synchronously and createRedisConnection stays synchronous for its callers.
 */
export function loadIoredis(): typeof import("ioredis") {
  return requireHere("ioredis") as typeof import("ioredis");
}
