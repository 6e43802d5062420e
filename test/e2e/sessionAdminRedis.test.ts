// The session admin over a real Redis (Debian redis-server on a loopback port), in process: the
// Redis store keeps a summary beside each session (provider, times, User-Agent digest) that the
// admin lists without opening the record, a touch moves its last-seen time, and ending one session
// or all of a user's deletes what is stored and records the revocation every replica follows.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock/systemClock.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { createRedisConnection, type RedisConnection } from "../../src/session/createRedisConnection.ts";
import { createRedisSessionStore } from "../../src/session/createRedisSessionStore.ts";
import { createRevocationList, type RevocationList } from "../../src/session/createRevocationList.ts";
import { createSessionAdmin, type SessionAdmin } from "../../src/session/createSessionAdmin.ts";
import { digestUserAgent } from "../../src/session/redisSessionSummary.ts";
import type { Session } from "../../src/session/Session.ts";
import { SessionStoreUnavailableError, type SessionStore } from "../../src/session/SessionStore.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const T0 = 1_800_000_000;
const UA = "Mozilla/5.0 PortcullisTest/redis-admin";

let redis: TestRedis;
let connection: RedisConnection;
let observer: RedisConnection;
let clock: ManualClock;
let store: SessionStore;
let revocations: RevocationList;
let elsewhere: RevocationList;
let admin: SessionAdmin;

function redisConfig(url: string) {
  const parsed = parseConfig({
    routes: [{ name: "all", match: { path: "/" }, auth: "public" }],
    // A generous command timeout: these tests are about what the admin does, not how fast a busy
    // machine's Redis answers (the Check path's 500 ms default timed out under a loaded run).
    redis: { url, keyPrefix: `t${randomBytes(4).toString("hex")}:`, commandTimeoutMs: 5000 },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.redis;
}

function session(id: string, sub: string, createdAt: number): Session {
  return {
    v: 1,
    id,
    provider: "corp",
    iss: "https://idp.example.com",
    sub,
    sid: null,
    claims: { sub },
    accessToken: "at",
    accessTokenExpiresAt: createdAt + 300,
    accessTokenIssuedAt: createdAt,
    refreshToken: null,
    idToken: null,
    authTime: createdAt,
    createdAt,
    expiresAt: createdAt + 3600,
    lastSeenAt: createdAt,
  };
}

beforeAll(async () => {
  redis = await startRedis();
  const config = redisConfig(redis.url);
  clock = createManualClock(T0 * 1000);
  connection = createRedisConnection(config);
  observer = createRedisConnection(config);
  store = createRedisSessionStore({
    connection,
    cookieName: "__Host-portcullis",
    cookieDomain: null,
    keys: ["k".repeat(40)],
    lifetimeSeconds: 3600,
    lockTtlMs: () => 2_000,
    clock,
  });
  revocations = createRevocationList({ connection, jtiTtlSeconds: 600, clock });
  // Another replica's list: it learns what the admin records through Redis.
  elsewhere = createRevocationList({ connection: observer, jtiTtlSeconds: 600, clock });
  admin = createSessionAdmin({ connection, store: "redis", revocations, lifetimeSeconds: 3600, clock });
  await waitUntil(async () => connection.isUp() && observer.isUp(), 10_000);
});

afterAll(async () => {
  store?.close();
  revocations?.close();
  elsewhere?.close();
  await connection?.close();
  await observer?.close();
  await redis?.close();
});

describe("the session admin over Redis", () => {
  it("lists a user's sessions from their summaries, with the login's User-Agent digest and the last-seen time a touch wrote", async () => {
    const jar = new Map<string, string>();
    const cookies = await store.create(session("aaaaaaaaaaaaaaaaaaaa", "carol", T0), jar, T0, UA);
    await store.create(session("bbbbbbbbbbbbbbbbbbbb", "carol", T0 + 5), jar, T0 + 5, null);
    await store.create(session("cccccccccccccccccccc", "dave", T0), jar, T0, UA);
    // The session's own cookie loads it; a touch a while later moves the listed last-seen time.
    const cookie = (cookies[0] as string).split(";")[0] as string;
    const [name, value] = cookie.split("=") as [string, string];
    const loaded = await store.load(new Map([[name, value]]), T0 + 120);
    if (loaded.kind !== "session") throw new Error(`not loaded: ${loaded.kind}`);
    await store.touch(loaded.session, loaded.present, T0 + 120);

    expect(await admin.list("carol", ["corp"])).toEqual([
      {
        handle: "corp.aaaaaaaaaaaaaaaaaaaa",
        provider: "corp",
        createdAt: T0,
        lastSeenAt: T0 + 120,
        expiresAt: T0 + 3600,
        userAgentDigest: digestUserAgent(UA),
      },
      {
        handle: "corp.bbbbbbbbbbbbbbbbbbbb",
        provider: "corp",
        createdAt: T0 + 5,
        lastSeenAt: T0 + 5,
        expiresAt: T0 + 3605,
        userAgentDigest: null,
      },
    ]);
    expect(await admin.list("carol", ["other"])).toEqual([]);
  });

  it("ends one session by handle: deleted from Redis, refused by id on every replica, unknown the second time", async () => {
    expect(await admin.endSession("corp.bbbbbbbbbbbbbbbbbbbb")).toBe("ended");
    const ended = { id: "bbbbbbbbbbbbbbbbbbbb", provider: "corp", sid: null, sub: "carol", createdAt: T0 + 5 };
    expect(revocations.isRevoked(ended)).toBe(true);
    expect(await waitUntil(async () => elsewhere.isRevoked(ended), 5_000)).toBe(true);
    expect((await admin.list("carol", ["corp"])).map((s) => s.handle)).toEqual(["corp.aaaaaaaaaaaaaaaaaaaa"]);
    expect(await admin.endSession("corp.bbbbbbbbbbbbbbbbbbbb")).toBe("not_found");
    expect(await admin.endSession("other.aaaaaaaaaaaaaaaaaaaa")).toBe("not_found");
    expect(await admin.endSession("not a handle")).toBe("invalid");
  });

  it("ends every session of a user: stored ones deleted, the subject refused on every replica until now, others untouched", async () => {
    clock.advance(10_000);
    expect(await admin.endSubject("carol", ["corp"])).toEqual({ revokedAt: T0 + 10, deleted: 1 });
    expect(await admin.list("carol", ["corp"])).toEqual([]);
    const before = { id: "zzzzzzzzzzzzzzzzzzzz", provider: "corp", sid: null, sub: "carol", createdAt: T0 + 10 };
    expect(await waitUntil(async () => elsewhere.isRevoked(before), 5_000)).toBe(true);
    expect(elsewhere.isRevoked({ ...before, createdAt: T0 + 11 })).toBe(false);
    expect(await admin.list("dave", ["corp"])).toHaveLength(1);
  });

  it("ends a user's sessions at every provider on this replica at once even when Redis does not answer, and says the write failed", async () => {
    // The system clock: a revocation write's budget runs on it while Redis is stopped.
    const here = createRevocationList({ connection, jtiTtlSeconds: 600, clock: systemClock });
    const ending = createSessionAdmin({
      connection,
      store: "redis",
      revocations: here,
      lifetimeSeconds: 3600,
      clock: systemClock,
    });
    const createdAt = Math.floor(Date.now() / 1000) - 60;
    redis.pause();
    let outcome: unknown;
    try {
      outcome = await ending.endSubject("erin", ["corp", "partner"]).catch((error: unknown) => error);
    } finally {
      redis.resume();
    }
    expect(outcome).toBeInstanceOf(SessionStoreUnavailableError);
    for (const provider of ["corp", "partner"])
      expect(here.isRevoked({ id: "e".repeat(20), provider, sid: null, sub: "erin", createdAt })).toBe(true);
    here.close();
    expect(await waitUntil(async () => connection.isUp(), 10_000)).toBe(true);
  });
});
