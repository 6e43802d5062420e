// The idle timeout on Redis sessions (real redis-server), two replicas sharing one Redis and one
// manual clock: a busy session costs one Redis write a minute whichever replica serves it, an
// active one outlives many timeouts, and an idle one is refused and deleted from Redis.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { createBrowserLogin, type BrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { freshenSession, loadSession } from "../../src/login/freshenSession.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { createRedisConnection, type RedisConnection } from "../../src/session/createRedisConnection.ts";
import type { Session } from "../../src/session/Session.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";
import { redisSessionStoreOf } from "../harness/redisSessionStoreOf.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const ISSUER = "https://idp.example.com";
const IDLE_SECONDS = 600;

let redis: TestRedis;
const closers: Array<() => Promise<void> | void> = [];
const connections: RedisConnection[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  connections.splice(0);
});

afterAll(async () => {
  await redis?.close();
});

function configWith(keyPrefix: string): PortcullisConfig {
  const parsed = parseConfig({
    providers: {
      corp: {
        issuer: ISSUER,
        audiences: ["api"],
        clientId: "web",
        clientSecret: "secret-secret",
        redirectUri: "https://app.example.com/oauth2/callback",
      },
    },
    session: { store: "redis", keys: ["k".repeat(40)], idleTimeoutSeconds: IDLE_SECONDS },
    redis: { url: redis.url, keyPrefix, commandTimeoutMs: 500, connectTimeoutMs: 1000 },
    routes: [{ name: "app", match: { path: "/" }, auth: "required" }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

/** A replica's browser login on its own Redis connection; `writes` counts session writes (creates included). */
function replica(config: PortcullisConfig, clock: ManualClock, writes: { count: number }): BrowserLogin {
  const connection = createRedisConnection(config.redis);
  const store = redisSessionStoreOf(config, connection, {
    events: {
      operation: (op, outcome) => void (op === "session_write" && outcome === "ok" ? (writes.count += 1) : undefined),
    },
    clock,
  });
  const login = createBrowserLogin({
    session: config.session,
    providers: Object.values(config.providers),
    loginClient: () => null,
    verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
    clock,
    store,
  });
  connections.push(connection);
  closers.push(async () => {
    login.close();
    await connection.close();
  });
  return login;
}

function sessionAt(t: number): Session {
  return {
    v: 1,
    id: randomBytes(16).toString("base64url"),
    provider: "corp",
    iss: ISSUER,
    sub: "alice",
    sid: null,
    claims: { sub: "alice" },
    accessToken: "at",
    accessTokenExpiresAt: t + 86_400,
    accessTokenIssuedAt: t,
    refreshToken: null,
    idToken: null,
    authTime: t,
    createdAt: t,
    expiresAt: t + 86_400,
    lastSeenAt: t,
  };
}

async function request(login: BrowserLogin, cookieHeader: string): Promise<string> {
  const loaded = await loadSession(login, parseSessionCookies(cookieHeader));
  if (loaded.kind !== "session") return loaded.kind;
  const fresh = await freshenSession(login, loaded.session, loaded.present);
  // The Redis store keeps the last-seen time server-side: the browser's cookie never changes.
  if (fresh.kind === "fresh") expect(fresh.setCookies).toEqual([]);
  return fresh.kind === "fresh" ? "session" : fresh.kind;
}

async function setUp() {
  const keyPrefix = `idle${randomBytes(4).toString("hex")}:`;
  const config = configWith(keyPrefix);
  const clock = createManualClock(Date.parse("2026-06-01T08:00:00Z"));
  const writes = { count: 0 };
  const replicas = [replica(config, clock, writes), replica(config, clock, writes)];
  expect(await waitUntil(async () => connections.every((c) => c.isUp()), 10_000)).toBe(true);
  const first = replicas[0] as BrowserLogin;
  const t = first.nowSeconds();
  const session = sessionAt(t);
  const created = await first.store.create(session, new Map(), t);
  const cookieHeader = created.map((c) => c.split(";")[0]).join("; ");
  return { replicas, clock, writes, cookieHeader, redisKey: `${keyPrefix}s:{${session.id}}` };
}

describe("session idle timeout (Redis store)", () => {
  it("writes the last-seen time to Redis at most once a minute across replicas", async () => {
    const { replicas, clock, writes, cookieHeader } = await setUp();
    const afterLogin = writes.count;
    // A request every ten seconds for five minutes, alternating replicas: 30 requests, 5 writes.
    for (let i = 0; i < 30; i++) {
      clock.advance(10_000);
      expect(await request(replicas[i % 2] as BrowserLogin, cookieHeader)).toBe("session");
    }
    expect(writes.count - afterLogin).toBe(5);
  });

  it("keeps an active session past many timeouts, then refuses it idle and deletes it from Redis", async () => {
    const { replicas, clock, cookieHeader, redisKey } = await setUp();
    for (let i = 0; i < 6; i++) {
      clock.advance((IDLE_SECONDS - 1) * 1000);
      expect(await request(replicas[i % 2] as BrowserLogin, cookieHeader)).toBe("session");
    }
    expect(await redis.command("EXISTS", redisKey)).toBe(1);
    clock.advance(IDLE_SECONDS * 1000);
    expect(await request(replicas[1] as BrowserLogin, cookieHeader)).toBe("invalid");
    expect(await redis.command("EXISTS", redisKey)).toBe(0);
    // The other replica finds it gone too.
    expect(await request(replicas[0] as BrowserLogin, cookieHeader)).toBe("invalid");
  });
});
