// The idle timeout through the real Envoy and Portcullis after a real browser login, for the cookie
// store and for Redis. Portcullis runs on the system clock in its own process, so instead of
// waiting out the timeout the test moves the session's last-seen time back, sealing it with the
// stack's session key (into the cookie, or into the Redis record): last seen 90 s ago slides (the
// page loads and the last-seen time moves to now), last seen longer ago than the timeout sends the
// browser to log in again (and the Redis record is gone), counted in portcullis_sessions_ended_total
// and logged with a digest of the session only.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { SESSION_MAX_CHUNKS } from "../../src/login/parseSessionCookies.ts";
import { createCookieSealer } from "../../src/session/createCookieSealer.ts";
import { createSessionCookies, type SessionCookies } from "../../src/session/createSessionCookies.ts";
import { openSessionRecord, sealSessionRecord, sessionRefOf } from "../../src/session/redisSessionRecord.ts";
import { parseSession, type Session } from "../../src/session/Session.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import { startBrowser, type StartedBrowser } from "../harness/startBrowser.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const COOKIE = "__Host-portcullis";
const IDLE_SECONDS = 600;
const KEY_PREFIX = "idle-e2e:";
const TEST_TIMEOUT = 90_000;
const KEY = randomBytes(32).toString("base64url");

let browser: StartedBrowser;
let redis: TestRedis;
let redisClient: Redis;

beforeAll(async () => {
  [browser, redis] = await Promise.all([startBrowser(), startRedis()]);
  redisClient = new Redis(redis.url, { lazyConnect: false });
}, TEST_TIMEOUT);

afterAll(async () => {
  redisClient?.disconnect();
  await Promise.all([browser?.close(), redis?.close()]);
});

function cookiesOf(purpose: string, maxChunks: number): SessionCookies {
  return createSessionCookies({
    name: COOKIE,
    domain: null,
    sealer: createCookieSealer({ keys: [KEY], purpose }),
    maxChunks,
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const header = (setCookies: readonly string[]) => setCookies.map((c) => c.split(";")[0]).join("; ");

/** Logs alice in through the stack in a fresh browser context; returns the Cookie header of our session. */
async function logIn(stack: Stack): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await loginThroughStack(page, stack.origin, "/hello", { user: "alice", secondFactor: false });
    const ours = (await context.cookies()).filter((c) => c.name.startsWith(COOKIE) && !c.name.includes("login"));
    return ours.map((c) => `${c.name}=${c.value}`).join("; ");
  } finally {
    await context.close();
  }
}

async function page(stack: Stack, cookie: string) {
  return stack.request("/hello", { headers: { cookie, accept: "text/html" } });
}

/** Where a session's last-seen time is kept, for each store: read it, or move it back. */
interface Backdater {
  lastSeen(cookie: string): Promise<number | undefined>;
  /** Returns the Cookie header that now names the backdated session. */
  setLastSeen(cookie: string, lastSeenAt: number): Promise<string>;
}

const cookieStore: Backdater = {
  async lastSeen(cookie) {
    const payload = cookiesOf("portcullis-session", SESSION_MAX_CHUNKS).read(parseSessionCookies(cookie)).payload;
    return payload === null ? undefined : parseSession(payload)?.lastSeenAt;
  },
  async setLastSeen(cookie, lastSeenAt) {
    const cookies = cookiesOf("portcullis-session", SESSION_MAX_CHUNKS);
    const read = cookies.read(parseSessionCookies(cookie));
    const session = parseSession(read.payload ?? {}) as Session;
    return header(cookies.write({ ...session, lastSeenAt }, session.expiresAt, read.present));
  },
};

async function recordOf(cookie: string) {
  const payload = cookiesOf("portcullis-session-ref", 1).read(parseSessionCookies(cookie)).payload;
  const ref = payload === null ? null : sessionRefOf(payload);
  if (ref === null) throw new Error("no session ref in the cookie");
  const key = `${KEY_PREFIX}s:{${ref.id}}`;
  const record = await redisClient.getBuffer(key);
  return { ref, key, session: record === null ? null : openSessionRecord(record, ref, key) };
}

const redisStore: Backdater = {
  async lastSeen(cookie) {
    return (await recordOf(cookie)).session?.lastSeenAt;
  },
  async setLastSeen(cookie, lastSeenAt) {
    const { ref, key, session } = await recordOf(cookie);
    if (session === null) throw new Error("no session record");
    await redisClient.set(key, sealSessionRecord({ ...session, lastSeenAt }, ref, key), "KEEPTTL", "XX");
    return cookie;
  },
};

describe.each([
  ["cookie", cookieStore],
  ["redis", redisStore],
] as const)("session idle timeout through Envoy (%s store)", (store, backdater) => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      login: true,
      session: { keys: [KEY], store, idleTimeoutSeconds: IDLE_SECONDS },
      ...(store === "redis" ? { config: { redis: { url: redis.url, keyPrefix: KEY_PREFIX } } } : {}),
    });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await stack?.close();
  });

  it(
    "keeps a session used within the timeout and moves its last-seen time to now",
    async () => {
      const cookie = await backdater.setLastSeen(await logIn(stack), nowSeconds() - 90);
      // The Redis store keeps a read session in memory for a few seconds: wait for the backdated record.
      let res = await page(stack, cookie);
      expect(res.status).toBe(200);
      const slid = async (c: string) => ((await backdater.lastSeen(c)) ?? 0) >= nowSeconds() - 30;
      if (store === "cookie") {
        const setCookies = [res.headers["set-cookie"] ?? []].flat();
        expect(setCookies.length).toBeGreaterThan(0);
        expect(await slid(header(setCookies))).toBe(true);
      } else {
        expect(
          await waitUntil(async () => (await page(stack, cookie)).status === 200 && (await slid(cookie)), 20_000),
        ).toBe(true);
        res = await page(stack, cookie);
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    "sends a browser whose session sat idle past the timeout to log in again",
    async () => {
      const idle = { provider: "demo", reason: "idle" };
      const endedBefore = await stack.metric("portcullis_sessions_ended_total", idle);
      const cookie = await backdater.setLastSeen(await logIn(stack), nowSeconds() - IDLE_SECONDS - 5);
      // Redis: the session read at the login may still be in a replica's memory for a few seconds.
      expect(await waitUntil(async () => (await page(stack, cookie)).status === 302, 20_000)).toBe(true);
      const res = await page(stack, cookie);
      expect(res.status).toBe(302);
      expect(String(res.headers["location"])).toContain(stack.issuer);
      if (store === "redis") expect((await recordOf(cookie)).session).toBeNull();
      // Counted on /metrics and logged at info with a digest of the session, never its cookie or tokens.
      expect(await stack.metric("portcullis_sessions_ended_total", idle)).toBeGreaterThan(endedBefore);
      const idleLines = async () =>
        (await readFile(join(stack.dir, "portcullis.log"), "utf8"))
          .split("\n")
          .filter((l) => l.includes('"session ended: idle"'));
      expect(await waitUntil(async () => (await idleLines()).length > 0, 10_000)).toBe(true);
      const line = JSON.parse((await idleLines()).at(-1)!) as Record<string, unknown>;
      expect(line).toMatchObject({ level: "info", provider: "demo", idleTimeoutSeconds: IDLE_SECONDS });
      for (const part of cookie.split(/[=;]\s*/))
        if (part.length > 20) expect(JSON.stringify(line)).not.toContain(part);
    },
    TEST_TIMEOUT,
  );
});
