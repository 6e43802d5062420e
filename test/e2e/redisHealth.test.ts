// What a running `portcullis serve` tells about a Redis that hangs: the process keeps its
// connection (no connection event), yet /readyz says `ready, degraded: Redis unreachable` and
// portcullis_redis_up reads 0 while the redis-server is frozen (SIGSTOP), and both come back by
// themselves after SIGCONT. Bearer tokens keep working meanwhile. Real Envoy, dev IdP, Redis.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

describe("Redis health while Redis hangs", () => {
  let redis: TestRedis;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedis();
    stack = await startStack({
      login: true,
      session: { store: "redis" },
      config: { redis: { url: redis.url, commandTimeoutMs: 300 } },
    });
  }, 120_000);

  afterAll(async () => {
    redis?.resume();
    await stack?.close();
    await redis?.close();
  });

  const readyz = async () => {
    const res = await fetch(`${stack.portcullisAdminUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  };

  it("reports a frozen Redis on /readyz (200, degraded) and in portcullis_redis_up (0), and recovers both after SIGCONT", async () => {
    expect(
      await waitUntil(
        async () => (await readyz()).body === "ready\n" && (await stack.metric("portcullis_redis_up")) === 1,
        15_000,
      ),
    ).toBe(true);
    const token = await stack.clientCredentialsToken(["api.read"]);
    redis.pause();
    try {
      const degraded = await waitUntil(
        async () => (await readyz()).body.startsWith("ready, degraded: Redis unreachable"),
        20_000,
        200,
      );
      expect(degraded).toBe(true);
      expect((await readyz()).status).toBe(200);
      expect(await stack.metric("portcullis_redis_up")).toBe(0);
      // Readiness stays 200 on purpose: bearer tokens do not need Redis.
      expect((await stack.request("/api/items", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      redis.resume();
    }
    expect(await waitUntil(async () => (await readyz()).body === "ready\n", 20_000, 200)).toBe(true);
    expect(await stack.metric("portcullis_redis_up")).toBe(1);
  }, 90_000);
});
