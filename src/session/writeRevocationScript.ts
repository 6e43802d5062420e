// One revocation write to Redis: a script run with its own timeout (longer than
// redis.commandTimeoutMs, which is tuned for the Check path), retried once within a time budget.
// Both revocation scripts are idempotent, so an attempt that timed out after Redis ran it does no
// harm to the retry.
import { performance } from "node:perf_hooks";
import type { Clock } from "../clock/Clock.ts";
import { sleep } from "../clock/sleep.ts";
import { describeRedisError, loadIoredis, type RedisConnection } from "./createRedisConnection.ts";
import { redisFailureOutcome, type RedisOperationEvents } from "./RedisOperationEvents.ts";

export interface RevocationWriteOptions {
  /** The whole write, retry included, at most; at least the connection's command timeout. */
  readonly budgetMs: number;
  readonly clock: Clock;
  readonly events?: RedisOperationEvents;
  readonly logger?: { warn(obj: object, msg: string): void };
}

const REVOCATION_WRITE_ATTEMPTS = 2;
/** A second attempt needs at least this much of the budget to be worth making. */
const MIN_ATTEMPT_MS = 100;
/** After a failure that was immediate (not connected), the pause before the retry: a reconnect's first step. */
const RECONNECT_PAUSE_MS = 250;

/** Resolves with the script's reply; rejects with the last attempt's error. */
export async function writeRevocationScript(
  redis: RedisConnection,
  script: string,
  keys: readonly string[],
  args: readonly string[],
  options: RevocationWriteOptions,
): Promise<unknown> {
  const { clock, events, logger } = options;
  const budget = Math.max(options.budgetMs, redis.commandTimeoutMs);
  const deadline = clock.now() + budget;
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= REVOCATION_WRITE_ATTEMPTS; attempt++) {
    const remaining = deadline - clock.now();
    if (attempt > 1 && remaining < MIN_ATTEMPT_MS) break;
    const startedAt = clock.now();
    // The metric's duration is the real time the attempt took, whatever clock the budget runs on.
    const sentAt = performance.now();
    try {
      const reply = await evalWithTimeout(
        redis,
        script,
        keys,
        args,
        Math.min(Math.max(redis.commandTimeoutMs, Math.floor(budget / 2)), remaining),
      );
      events?.operation("revocation", "ok", (performance.now() - sentAt) / 1000);
      return reply;
    } catch (error) {
      lastError = error;
      events?.operation("revocation", redisFailureOutcome(error), (performance.now() - sentAt) / 1000);
      logger?.warn({ attempt, error: describeRedisError(error) }, "a revocation could not be written to Redis");
      // Refused at once (no connection): give a reconnect a moment rather than failing twice in a row.
      if (clock.now() - startedAt < MIN_ATTEMPT_MS)
        await sleep(clock, Math.min(RECONNECT_PAUSE_MS, Math.max(0, deadline - clock.now() - MIN_ATTEMPT_MS)));
    }
  }
  throw lastError;
}

/** EVAL with a timeout of its own: ioredis applies commandTimeout only to commands without one. */
function evalWithTimeout(
  redis: RedisConnection,
  script: string,
  keys: readonly string[],
  args: readonly string[],
  timeoutMs: number,
): Promise<unknown> {
  // Only reached with a Redis connection, so the library is loaded already (see loadIoredis).
  const command = new (loadIoredis().Command)("eval", [script, keys.length, ...keys, ...args], {
    replyEncoding: "utf8",
  });
  command.setTimeout(Math.max(1, timeoutMs));
  redis.client.sendCommand(command);
  return command.promise as Promise<unknown>;
}
