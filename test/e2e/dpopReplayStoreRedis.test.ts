// The DPoP replay store replicas share, on a real redis-server: a proof key claimed through one
// connection is a replay through another (another replica), it is kept for the proof window only,
// and a Redis that is stopped or frozen makes every claim "unavailable" (the check then fails
// closed with a 503), never "fresh".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { RedisConfig } from "../../src/config/PortcullisConfig.ts";
import { createRedisConnection, type RedisConnection } from "../../src/session/createRedisConnection.ts";
import { createRedisDpopReplayStore } from "../../src/session/createRedisDpopReplayStore.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { waitUntil } from "../harness/waitUntil.ts";

let redis: TestRedis;
const connections: RedisConnection[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  redis?.resume();
  await Promise.all(connections.map((c) => c.close()));
  await redis?.close();
});

function redisConfig(): RedisConfig {
  const parsed = parseConfig({
    providers: { p: { issuer: "https://idp.example.com", audiences: ["a"] } },
    routes: [{ name: "r", match: { path: "/" }, auth: "public" }],
    redis: { url: redis.url, connectTimeoutMs: 500, commandTimeoutMs: 300, keyPrefix: "replay-test:" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.redis;
}

async function connect(): Promise<RedisConnection> {
  const connection = createRedisConnection(redisConfig());
  connections.push(connection);
  expect(await waitUntil(async () => connection.isUp(), 5_000)).toBe(true);
  return connection;
}

describe("the Redis DPoP replay store", () => {
  it("refuses at a second replica a proof the first accepted, and keeps it for the proof window only", async () => {
    const events: string[] = [];
    const first = createRedisDpopReplayStore(await connect(), {
      operation: (op, outcome, seconds) =>
        events.push(`${op}:${outcome}:${seconds === undefined ? "untimed" : "timed"}`),
    });
    const second = createRedisDpopReplayStore(await connect());
    expect(await first.claim("proof-a", 65_000)).toBe("fresh");
    expect(await second.claim("proof-a", 65_000)).toBe("replayed");
    expect(await first.claim("proof-a", 65_000)).toBe("replayed");
    expect(await second.claim("proof-b", 65_000)).toBe("fresh");
    const ttl = Number(await redis.command("PTTL", "replay-test:dpop:proof-a"));
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(65_000);
    expect(events).toEqual(["dpop_replay:ok:timed", "dpop_replay:ok:timed"]);
  });

  it("answers unavailable, never fresh, while Redis is frozen or stopped, timed as a timeout or untimed", async () => {
    const connection = await connect();
    const events: string[] = [];
    const store = createRedisDpopReplayStore(connection, {
      operation: (op, outcome, seconds) =>
        events.push(`${op}:${outcome}:${seconds === undefined ? "untimed" : "timed"}`),
    });
    redis.pause();
    try {
      expect(await store.claim("proof-frozen", 65_000)).toEqual({
        unavailable: expect.stringMatching(/^Redis SET NX failed/),
      });
    } finally {
      redis.resume();
    }
    await redis.stop();
    try {
      expect(await waitUntil(async () => !connection.isUp(), 5_000)).toBe(true);
      expect(await store.claim("proof-stopped", 65_000)).toEqual({ unavailable: "Redis is unavailable" });
    } finally {
      await redis.start();
    }
    expect(await waitUntil(async () => connection.isUp(), 10_000)).toBe(true);
    expect(await store.claim("proof-stopped", 65_000)).toBe("fresh");
    // Frozen: no answer within the command timeout; stopped: refused before any command was sent.
    expect(events).toEqual(["dpop_replay:timeout:timed", "dpop_replay:error:untimed", "dpop_replay:ok:timed"]);
  });
});
