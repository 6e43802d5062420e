// A session refresh across replicas: one replica at a time holds the session's Redis lock (renewed
// while the IdP call runs, released and written with a fencing check, so a holder that stalled past
// its lease never overwrites a newer session and a session deleted meanwhile is never brought
// back); the replicas that lose the race wait for the stored result instead of calling the IdP.
import { createHash, randomBytes } from "node:crypto";
import { sleep } from "../clock/sleep.ts";
import { execOrThrow } from "./execOrThrow.ts";
import type { RedisSessionContext } from "./RedisSessionContext.ts";
import type { SessionRef } from "./redisSessionRecord.ts";
import type { Session } from "./Session.ts";
import type { RefreshRun, StoreRefresh } from "./SessionStore.ts";

/** Longest wait for another replica's refresh, kept under Envoy's 1 s per-try timeout of envoy/replicas.yaml. */
const WINNER_WAIT_MS = 750;

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const FENCED_WRITE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('exists', KEYS[2]) == 0 then return 0 end
redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`;
const FENCED_DELETE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('del', KEYS[2])`;

/** The refresh being stored: whose, under which lock. */
interface LockedRefresh {
  readonly session: Session;
  readonly ref: SessionRef;
  readonly present: readonly string[];
  /** Epoch seconds of the request. */
  readonly t: number;
  readonly lock: string;
  /** This holder's fencing token. */
  readonly token: string;
  readonly ttl: number;
}

export async function refreshUnderLock(
  ctx: RedisSessionContext,
  session: Session,
  ref: SessionRef,
  present: readonly string[],
  run: () => Promise<RefreshRun>,
  t: number,
): Promise<StoreRefresh> {
  const { client, cookies } = ctx;
  const token = randomBytes(16).toString("base64url");
  const ttl = ctx.options.lockTtlMs(session.provider);
  const lock = ctx.lockKey(ref.id);
  let acquired: string | null;
  try {
    acquired = await ctx.call("refresh_lock", () => client.set(lock, token, "PX", ttl, "NX"));
  } catch (error) {
    return { kind: "unavailable", reason: (error as Error).message, cause: "store" };
  }
  if (acquired !== "OK") return awaitWinner(ctx, session, ref, present, ttl);
  const release = () => ctx.call("refresh_lock", () => client.eval(RELEASE, 1, lock, token)).catch(() => undefined);
  // Another replica may have refreshed and released the lock after this request read the session
  // (or its in-memory copy): then its refresh token is spent, and the stored session is the fresh one.
  let stored: Session | null;
  try {
    const record = await ctx.call("session_read", () => client.getBuffer(ctx.sessionKey(ref.id)));
    stored = record === null ? null : ctx.open(record, ref);
  } catch (error) {
    await release();
    return { kind: "unavailable", reason: (error as Error).message, cause: "store" };
  }
  if (stored === null || stored.accessToken !== session.accessToken) {
    await release();
    return stored === null
      ? { kind: "ended", clear: cookies.clear(present), reason: "session ended before the refresh" }
      : { kind: "fresh", session: stored, setCookies: [] };
  }
  // Renewed while the IdP call (and the access-token check after it) runs past a third of the lease.
  const renewal = ctx.clock.setInterval(
    () => {
      void ctx.call("refresh_lock", () => client.eval(RENEW, 1, lock, token, String(ttl))).catch(() => undefined);
    },
    Math.max(10, Math.floor(ttl / 3)),
    { keepAlive: true },
  );
  try {
    const outcome = await run().finally(() => renewal.cancel());
    return await storeOutcome(ctx, { session, ref, present, t, lock, token, ttl }, outcome);
  } finally {
    await release();
  }
}

/** Writes (or deletes) what the IdP call decided, fenced by the lock this replica still holds. */
async function storeOutcome(
  ctx: RedisSessionContext,
  locked: LockedRefresh,
  outcome: RefreshRun,
): Promise<StoreRefresh> {
  const { client, cookies } = ctx;
  const { ref, present, lock, token } = locked;
  if (outcome.kind === "unavailable") return { kind: "unavailable", reason: outcome.reason, cause: "idp" };
  if (outcome.kind === "ended") {
    await ctx
      .call("session_delete", () => client.eval(FENCED_DELETE, 2, lock, ctx.sessionKey(ref.id), token))
      .catch(() => undefined);
    await ctx.memory.invalidate(ref.id);
    return { kind: "ended", clear: cookies.clear(present), reason: outcome.reason };
  }
  const next = outcome.session;
  ctx.refs.set(next, ref);
  const ttlMs = Math.max(1, (next.expiresAt - locked.t) * 1000);
  let written: unknown;
  try {
    written = await ctx.call("session_write", () =>
      client.eval(FENCED_WRITE, 2, lock, ctx.sessionKey(ref.id), token, ctx.seal(next, ref), String(ttlMs)),
    );
  } catch (error) {
    // The IdP may have rotated the refresh token: this request uses the new tokens, and the
    // stored session's next refresh shows whether the IdP still accepts the old one.
    ctx.options.logger?.warn(
      { session: shortId(ref.id), error: (error as Error).message },
      "refreshed session could not be stored",
    );
    return { kind: "fresh", session: next, setCookies: [] };
  }
  if (written === 1) {
    await ctx.memory.invalidate(ref.id);
    return { kind: "fresh", session: next, setCookies: [] };
  }
  if (written === 0)
    return { kind: "ended", clear: cookies.clear(present), reason: "session ended during the refresh" };
  // The lease ran out before the write: another replica may hold it now; take what it stores.
  return awaitWinner(ctx, locked.session, ref, present, locked.ttl);
}

/**
 * Another replica is refreshing this session: wait for its result in Redis, but never longer than
 * WINNER_WAIT_MS (below Envoy's per-try timeout); until then the current access token, which a
 * refresh ahead of expiry leaves valid, serves this request.
 */
async function awaitWinner(
  ctx: RedisSessionContext,
  session: Session,
  ref: SessionRef,
  present: readonly string[],
  ttl: number,
): Promise<StoreRefresh> {
  const { client, cookies, clock } = ctx;
  const deadline = clock.now() + Math.min(ttl + 1_000, WINNER_WAIT_MS);
  while (clock.now() < deadline) {
    await sleep(clock, ctx.options.pollIntervalMs ?? 25);
    let record: Buffer | null;
    let locked: number;
    try {
      [record, locked] = await ctx.call("session_read", async () => {
        const replies = await execOrThrow(client.multi().getBuffer(ctx.sessionKey(ref.id)).exists(ctx.lockKey(ref.id)));
        return [replies[0] as Buffer | null, replies[1] as number] as const;
      });
    } catch (error) {
      return { kind: "unavailable", reason: (error as Error).message, cause: "store" };
    }
    if (record === null)
      return {
        kind: "ended",
        clear: cookies.clear(present),
        reason: "session ended by the refresh on another replica",
      };
    const current = ctx.open(record, ref);
    if (current === null) return { kind: "ended", clear: cookies.clear(present), reason: "stored session unreadable" };
    if (current.accessToken !== session.accessToken) return { kind: "fresh", session: current, setCookies: [] };
    if (locked === 0)
      return { kind: "unavailable", reason: "the refresh on another replica did not complete", cause: "idp" };
  }
  return { kind: "unavailable", reason: "timed out waiting for the refresh on another replica", cause: "idp" };
}

/** Enough of a session id to correlate log lines, never enough to use it. */
function shortId(id: string): string {
  return createHash("sha256").update(id).digest("base64url").slice(0, 8);
}
