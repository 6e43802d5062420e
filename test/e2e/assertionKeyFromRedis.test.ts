// The assertion signing key replicas share through a real redis-server, when what Redis holds is not
// a key Portcullis would make: garbage, a public key only, an RSA key. The keyring fails closed (no
// key loaded: assertions refused, nothing published), logs without quoting the value, and loads the
// key once Redis holds a readable one (the retry runs on the injected clock).
import { generateKeyPairSync } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAssertionKeyring } from "../../src/app/createAssertionKeyring.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { exportAssertionKey, generateAssertionKey } from "../../src/identity/AssertionKey.ts";
import { createRedisConnection, type RedisConnection } from "../../src/session/createRedisConnection.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const PREFIX = "assertion-key-test:";
const NAME = `${PREFIX}assertion:signing-key`;

let redis: TestRedis;
const connections: RedisConnection[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
  await redis?.close();
});

function config(): PortcullisConfig {
  const parsed = parseConfig({
    providers: { p: { issuer: "https://idp.example.com", audiences: ["a"] } },
    identity: { assertion: { issuer: "https://auth.example.com", enabled: true, audience: "orders" } },
    routes: [{ name: "r", match: { path: "/" }, auth: "required" }],
    redis: { url: redis.url, connectTimeoutMs: 500, commandTimeoutMs: 300, keyPrefix: PREFIX },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

async function connect(c: PortcullisConfig): Promise<RedisConnection> {
  const connection = createRedisConnection(c.redis);
  connections.push(connection);
  expect(await waitUntil(async () => connection.isUp(), 5_000)).toBe(true);
  return connection;
}

/** A logger whose lines the test reads back. */
function recordingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

const { privateKey: rsa } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const p256 = generateAssertionKey("ES256");
const publicOnly = JSON.stringify({ ...p256.publicJwk });
const HELD: [string, string][] = [
  ["garbage", "not-a-key-but-a-secret-looking-value"],
  ["a public key only", publicOnly],
  ["an RSA private key", JSON.stringify(rsa.export({ format: "jwk" }))],
];

describe("the shared assertion key when Redis holds something else", () => {
  it.each(HELD)("loads no key from %s, logs without quoting it, and loads a readable one later", async (_, held) => {
    const c = config();
    await redis.command("SET", NAME, held);
    const clock = createManualClock();
    const { logger, lines } = recordingLogger();
    const keyring = createAssertionKeyring(await connect(c), logger, clock);
    const keys = keyring.keysFor(c);
    await clock.whenPending(1);
    expect(keys()).toBeNull();
    expect(lines.join("\n")).toContain("assertion signing key not read from Redis yet");
    for (const secret of [held, ...Object.values(JSON.parse(held.startsWith("{") ? held : "{}") as object)])
      if (typeof secret === "string" && secret.length > 20) expect(lines.join("\n")).not.toContain(secret);
    // Once Redis holds a readable key, the next retry loads it and every replica signs with it.
    await redis.command("SET", NAME, exportAssertionKey(p256));
    clock.advance(1_000);
    expect(await waitUntil(async () => keys() !== null, 5_000)).toBe(true);
    expect(keys()?.signing.kid).toBe(p256.kid);
    keyring.close();
  });
});
