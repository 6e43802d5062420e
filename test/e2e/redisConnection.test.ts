// The Redis connection on a real redis-server: password authentication, a wrong password reported
// without the password, commands failing at once (no queue) while Redis is away, the connection
// coming back by itself when Redis does, and a frozen Redis (SIGSTOP) counted as down.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { RedisConfig } from "../../src/config/PortcullisConfig.ts";
import { createRedisConnection } from "../../src/session/createRedisConnection.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const PASSWORD = "s3cret-redis-pass-Zq9";
let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
});

afterAll(async () => {
  await redis?.close();
});

function redisConfig(password: string | null): RedisConfig {
  const parsed = parseConfig({
    providers: { p: { issuer: "https://idp.example.com", audiences: ["a"] } },
    routes: [{ name: "r", match: { path: "/" }, auth: "public" }],
    redis: { url: redis.url, password, connectTimeoutMs: 500, commandTimeoutMs: 300 },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.redis;
}

describe("Redis connection", () => {
  it("authenticates with the configured password and answers commands", async () => {
    const connection = createRedisConnection(redisConfig(PASSWORD));
    try {
      expect(await waitUntil(async () => connection.isUp(), 5_000)).toBe(true);
      expect(await connection.client.set("k", "v")).toBe("OK");
    } finally {
      await connection.close();
    }
  });

  it("stays down with a wrong password and never puts the password in what it reports", async () => {
    const reports: string[] = [];
    const connection = createRedisConnection(redisConfig("wrong-password-value"), {
      upChanged: (up, detail) => reports.push(`${up}:${detail}`),
    });
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      expect(connection.isUp()).toBe(false);
      await expect(connection.client.get("k")).rejects.toThrow();
      expect(reports.join("\n")).not.toContain("wrong-password-value");
      expect(reports.join("\n")).not.toContain(PASSWORD);
    } finally {
      await connection.close();
    }
  });

  it("fails commands at once while Redis is down and reconnects by itself when it is back", async () => {
    const changes: boolean[] = [];
    const connection = createRedisConnection(redisConfig(PASSWORD), { upChanged: (up) => changes.push(up) });
    try {
      expect(await waitUntil(async () => connection.isUp(), 5_000)).toBe(true);
      await redis.stop();
      expect(await waitUntil(async () => !connection.isUp(), 5_000)).toBe(true);
      const started = Date.now();
      await expect(connection.client.get("k")).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(200);
      await redis.start();
      expect(await waitUntil(async () => connection.isUp(), 10_000)).toBe(true);
      expect(await connection.client.set("k", "again")).toBe("OK");
      expect(changes).toEqual([true, false, true]);
    } finally {
      await connection.close();
    }
  });

  it("counts a Redis that holds the connection but stops answering (SIGSTOP) as down, and as up at its first answer after SIGCONT", async () => {
    const reports: string[] = [];
    const connection = createRedisConnection(redisConfig(PASSWORD), {
      upChanged: (up, detail) => reports.push(`${up}:${detail}`),
    });
    try {
      expect(await waitUntil(async () => connection.isUp(), 5_000)).toBe(true);
      redis.pause();
      try {
        // No connection event comes: the health PINGs time out (300 ms) twice in a row.
        expect(await waitUntil(async () => !connection.isUp(), 15_000, 50)).toBe(true);
        expect(connection.client.status).toBe("ready");
      } finally {
        redis.resume();
      }
      expect(await waitUntil(async () => connection.isUp(), 15_000, 50)).toBe(true);
      expect(await connection.client.set("k", "after-freeze")).toBe("OK");
      expect(reports.map((r) => r.split(":")[0])).toEqual(["true", "false", "true"]);
      expect(reports[1]).toMatch(/no answer within redis\.commandTimeoutMs \(300 ms\)/);
      expect(reports.join("\n")).not.toContain(PASSWORD);
    } finally {
      redis.resume();
      await connection.close();
    }
  });
});
