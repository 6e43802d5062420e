// The DPoP replay store replicas share: each accepted proof's key is SET NX PX in Redis, so a proof
// used at one replica is refused at every other for as long as it could be accepted. Any Redis fault
// (down, slow past redis.commandTimeoutMs, an unexpected reply) is "unavailable", and the check
// fails closed with a 503: a proof is never admitted because Redis could not be asked.
import { performance } from "node:perf_hooks";
import type { RedisConnection } from "./createRedisConnection.ts";
import { describeRedisError } from "./createRedisConnection.ts";
import { redisFailureOutcome, type RedisOutcome } from "./RedisOperationEvents.ts";

/** What a claim answers (the shape of oidc/DpopReplayStore's DpopReplayClaim). */
export type RedisDpopReplayClaim = "fresh" | "replayed" | { readonly unavailable: string };

/** Counts and times each claim (`portcullis_redis_operations_total{operation="dpop_replay"}`). */
export interface DpopReplayEvents {
  operation(operation: "dpop_replay", outcome: RedisOutcome, seconds?: number): void;
}

export function createRedisDpopReplayStore(
  connection: RedisConnection,
  events?: DpopReplayEvents,
): { claim(key: string, ttlMs: number): Promise<RedisDpopReplayClaim> } {
  const prefix = `${connection.prefix}dpop:`;
  return {
    async claim(key, ttlMs) {
      // Fail fast while Redis is known to be away, as the session store does.
      if (!connection.isUp()) {
        events?.operation("dpop_replay", "error");
        return { unavailable: "Redis is unavailable" };
      }
      let reply: unknown;
      const startedAt = performance.now();
      try {
        reply = await connection.client.set(`${prefix}${key}`, "1", "PX", Math.max(1, Math.ceil(ttlMs)), "NX");
      } catch (error) {
        events?.operation("dpop_replay", redisFailureOutcome(error), (performance.now() - startedAt) / 1000);
        return { unavailable: `Redis SET NX failed: ${describeRedisError(error)}` };
      }
      const seconds = (performance.now() - startedAt) / 1000;
      events?.operation("dpop_replay", reply === "OK" || reply === null ? "ok" : "error", seconds);
      if (reply === "OK") return "fresh";
      if (reply === null) return "replayed";
      return { unavailable: "Redis SET NX gave an unexpected reply" };
    },
  };
}
