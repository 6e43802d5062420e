// A completed login ends the session the browser held, with real redis-server and two replicas: the
// Redis store deletes the old record, summary and index entry in the same transaction as it writes
// the new session and every replica forgets it; a login whose write fails changes nothing. With the
// cookie store and a shared revocation list, the old id is revoked for every replica, and when that
// revocation cannot be shared the login still succeeds, this replica refuses the old cookie, and
// the log says so at warn.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { createBrowserLogin, type BrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { loadSession } from "../../src/login/freshenSession.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { storeNewSession } from "../../src/login/storeNewSession.ts";
import { LOGOUT_TOKEN_MAX_AGE_SECONDS } from "../../src/oidc/createLogoutTokenDispatcher.ts";
import { createRedisConnection, type RedisConnection } from "../../src/session/createRedisConnection.ts";
import { createRevocationList } from "../../src/session/createRevocationList.ts";
import { indexKeyOf, sessionKeyOf, summaryKeyOf } from "../../src/session/redisSessionKeys.ts";
import type { Session } from "../../src/session/Session.ts";
import { SessionStoreUnavailableError } from "../../src/session/SessionStore.ts";
import { redisSessionStoreOf } from "../harness/redisSessionStoreOf.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const ISSUER = "https://idp.example.com";

let redis: TestRedis;
const closers: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterEach(async () => {
  redis.resume();
  for (const close of closers.splice(0)) await close();
});

afterAll(async () => {
  await redis?.close();
});

function configWith(store: "cookie" | "redis", keyPrefix: string): PortcullisConfig {
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
    session: { store, keys: ["k".repeat(40)] },
    redis: { url: redis.url, keyPrefix, commandTimeoutMs: 500, connectTimeoutMs: 1000 },
    routes: [{ name: "app", match: { path: "/" }, auth: "required" }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

interface Replica {
  readonly login: BrowserLogin;
  readonly connection: RedisConnection;
  readonly ended: string[];
  readonly logs: Array<{ level: string; obj: object; msg: string }>;
}

/** A replica's browser login on its own Redis connection: the store's kind, and a shared revocation list. */
function replica(config: PortcullisConfig): Replica {
  const connection = createRedisConnection(config.redis);
  const ended: string[] = [];
  const logs: Replica["logs"] = [];
  const revocations = createRevocationList({
    connection,
    jtiTtlSeconds: LOGOUT_TOKEN_MAX_AGE_SECONDS * 2,
    writeBudgetMs: 1_000,
  });
  const store = config.session.store === "redis" ? redisSessionStoreOf(config, connection) : undefined;
  const login = createBrowserLogin({
    session: config.session,
    providers: Object.values(config.providers),
    loginClient: () => null,
    verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
    ...(store !== undefined ? { store } : {}),
    revocations,
    events: {
      loginStarted: () => undefined,
      loginCompleted: () => undefined,
      loginFailed: () => undefined,
      refreshed: () => undefined,
      sessionEnded: (provider, reason) => void ended.push(`${provider}:${reason}`),
    },
    logger: {
      warn: (obj, msg) => void logs.push({ level: "warn", obj, msg }),
      info: (obj, msg) => void logs.push({ level: "info", obj, msg }),
    },
  });
  closers.push(async () => {
    login.close();
    revocations.close();
    await connection.close();
  });
  return { login, connection, ended, logs };
}

async function setUp(store: "cookie" | "redis") {
  const keyPrefix = `replace${randomBytes(4).toString("hex")}:`;
  const config = configWith(store, keyPrefix);
  const replicas = [replica(config), replica(config)] as const;
  expect(await waitUntil(async () => replicas.every((r) => r.connection.isUp()), 10_000)).toBe(true);
  return { replicas, keyPrefix };
}

function sessionOf(login: BrowserLogin, sub: string): Session {
  const t = login.nowSeconds();
  return {
    v: 1,
    id: randomBytes(16).toString("base64url"),
    provider: "corp",
    iss: ISSUER,
    sub,
    sid: null,
    claims: { sub },
    accessToken: `at-${randomBytes(8).toString("hex")}`,
    accessTokenExpiresAt: t + 3_600,
    accessTokenIssuedAt: t,
    refreshToken: null,
    idToken: null,
    authTime: t,
    createdAt: t,
    expiresAt: t + 3_600,
    lastSeenAt: t,
  };
}

/** A login's session cookies as the browser's Cookie header carries them. */
function jarOf(setCookies: readonly string[]): string {
  return setCookies.map((c) => c.split(";")[0]).join("; ");
}

const loads = async (r: Replica, cookie: string) => (await loadSession(r.login, parseSessionCookies(cookie))).kind;

describe("a new login over a Redis session", () => {
  it("deletes the replaced session's record, summary and index entry with the new session's write, and a replica that had it in memory refuses it", async () => {
    const { replicas, keyPrefix } = await setUp("redis");
    const [a, b] = replicas;
    const first = sessionOf(a.login, "alice");
    const weak = jarOf(await storeNewSession(a.login, first, new Map(), null));
    expect(await loads(b, weak)).toBe("session"); // now in b's memory

    const second = sessionOf(a.login, "alice");
    const strong = jarOf(await storeNewSession(a.login, second, parseSessionCookies(weak), null));

    const index = indexKeyOf(keyPrefix, "sub", "corp", "alice");
    expect(await redis.command("EXISTS", sessionKeyOf(keyPrefix, first.id))).toBe(0);
    expect(await redis.command("EXISTS", summaryKeyOf(keyPrefix, first.id))).toBe(0);
    expect(await redis.command("ZRANGE", index, "0", "-1")).toEqual([second.id]);
    expect(await loads(a, weak)).toBe("invalid");
    expect(await waitUntil(async () => (await loads(b, weak)) === "invalid", 5_000)).toBe(true);
    expect(await loads(b, strong)).toBe("session");
    expect(a.ended).toEqual(["corp:replaced"]);
    const line = a.logs.find((l) => l.msg === "session ended: replaced by a new login");
    expect(line?.level).toBe("info");
    expect(JSON.stringify(line)).not.toContain(first.id);
    expect(JSON.stringify(line)).not.toContain(second.id);
  });

  it("fails the login when Redis does not answer its write in time; applied late, the write ends the old session with it, and the retry signs in", async () => {
    const { replicas, keyPrefix } = await setUp("redis");
    const [a, b] = replicas;
    const first = sessionOf(a.login, "alice");
    const weak = jarOf(await storeNewSession(a.login, first, new Map(), null));
    // In this replica's memory, so the callback reads the old session without Redis and only the
    // write (the new session and the old one's deletion, one transaction) meets the frozen Redis.
    expect(await loads(a, weak)).toBe("session");
    const second = sessionOf(a.login, "alice");
    redis.pause();
    try {
      await expect(storeNewSession(a.login, second, parseSessionCookies(weak), null)).rejects.toBeInstanceOf(
        SessionStoreUnavailableError,
      );
    } finally {
      redis.resume();
    }
    // The write was sent before it timed out, and Redis runs it once resumed: one transaction, so
    // the old session ends exactly when the new one (whose cookie the browser never got) is written.
    await a.connection.client.ping();
    expect(await redis.command("EXISTS", sessionKeyOf(keyPrefix, second.id))).toBe(1);
    expect(await redis.command("EXISTS", sessionKeyOf(keyPrefix, first.id))).toBe(0);
    expect(await waitUntil(async () => (await loads(b, weak)) === "invalid", 5_000)).toBe(true);
    expect(a.ended).toEqual([]);
    // The browser is signed out, not half signed in: its next login works.
    const again = jarOf(await storeNewSession(a.login, sessionOf(a.login, "alice"), parseSessionCookies(weak), null));
    expect(await loads(b, again)).toBe("session");
  });

  it("fails the login and keeps the browser's session when Redis answers neither the read of the old session nor the write", async () => {
    const { replicas, keyPrefix } = await setUp("redis");
    const [a, b] = replicas;
    const first = sessionOf(a.login, "alice");
    const weak = jarOf(await storeNewSession(a.login, first, new Map(), null));
    redis.pause();
    try {
      await expect(
        storeNewSession(a.login, sessionOf(a.login, "alice"), parseSessionCookies(weak), null),
      ).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    } finally {
      redis.resume();
    }
    await a.connection.client.ping();
    // The new record (if Redis ran the late write) is one no cookie names; the browser's stays.
    expect(await redis.command("EXISTS", sessionKeyOf(keyPrefix, first.id))).toBe(1);
    expect(await waitUntil(async () => (await loads(b, weak)) === "session", 5_000)).toBe(true);
    expect(a.ended).toEqual([]);
  });
});

describe("a new login over a cookie session with a shared revocation list", () => {
  it("refuses on every replica a copy of the replaced cookie, and lets the new session through", async () => {
    const [a, b] = (await setUp("cookie")).replicas;
    const weak = jarOf(await storeNewSession(a.login, sessionOf(a.login, "alice"), new Map(), null));
    expect(await loads(b, weak)).toBe("session");
    const strong = jarOf(await storeNewSession(a.login, sessionOf(a.login, "alice"), parseSessionCookies(weak), null));
    expect(await loads(a, weak)).toBe("invalid");
    expect(await waitUntil(async () => (await loads(b, weak)) === "invalid", 5_000)).toBe(true);
    expect(await loads(b, strong)).toBe("session");
    expect(a.ended).toEqual(["corp:replaced"]);
  });

  it("completes the login when the revocation cannot be shared, refuses the old cookie on this replica and warns", async () => {
    const [a] = (await setUp("cookie")).replicas;
    const first = sessionOf(a.login, "alice");
    const weak = jarOf(await storeNewSession(a.login, first, new Map(), null));
    redis.pause();
    let strong: string;
    try {
      strong = jarOf(await storeNewSession(a.login, sessionOf(a.login, "alice"), parseSessionCookies(weak), null));
    } finally {
      redis.resume();
    }
    expect(strong).not.toBe("");
    expect(await loads(a, weak)).toBe("invalid");
    expect(await loads(a, strong)).toBe("session");
    const warning = a.logs.find((l) => l.level === "warn");
    expect(warning?.msg).toBe(
      "a new login could not share the revocation of the session it replaced; this replica refuses it",
    );
    expect(JSON.stringify(warning)).not.toContain(first.id);
    expect(JSON.stringify(warning)).not.toContain(first.accessToken);
  });
});
