// What the Redis stores report about each operation: its kind, how it ended, and how long it took.
// Kept as a tiny interface so the session room does not import prom-client; outcomes are a closed set.
import type { RedisOperation } from "./RedisSessionContext.ts";

/** ok: Redis answered; timeout: no answer within the command's timeout; error: any other failure. */
export type RedisOutcome = "ok" | "error" | "timeout";

export interface RedisOperationEvents {
  /**
   * One operation ended. `seconds` runs from its first command sent to its last reply; absent when
   * it was refused without a command (Redis known to be away).
   */
  operation(operation: RedisOperation, outcome: RedisOutcome, seconds?: number): void;
}

/** A failed command's outcome: ioredis's commandTimeout and our own command timeouts say "timed out". */
export function redisFailureOutcome(err: unknown): "error" | "timeout" {
  return err instanceof Error && /timed? ?out/i.test(err.message) ? "timeout" : "error";
}
