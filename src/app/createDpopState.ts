// The DPoP state a process keeps across config reloads: the replay store (in Redis when `redis` is
// configured, so every replica refuses a proof used at any other; else in memory, bounded) and the
// key of nonces when the config gives none. Made once per process by createSharedSessionState.
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import { generatedNonceSecret } from "../oidc/createDpopNonces.ts";
import { createMemoryDpopReplayStore } from "../oidc/createMemoryDpopReplayStore.ts";
import type { DpopReplayStore } from "../oidc/DpopReplayStore.ts";
import type { RedisConnection } from "../session/createRedisConnection.ts";
import { createRedisDpopReplayStore } from "../session/createRedisDpopReplayStore.ts";
import type { RedisOperationEvents } from "../session/RedisOperationEvents.ts";

/**
 * Proofs remembered in memory at most: each lives for the proof window (about a minute), so this
 * holds some 1,600 fresh proofs a second; past it new proofs are refused (503), never let through.
 */
export const MEMORY_DPOP_PROOFS = 100_000;

export interface DpopState {
  readonly replays: DpopReplayStore;
  /** The nonce key of providers that configure none (one per process: one replica's nonces). */
  readonly nonceSecret: Buffer;
}

export function createDpopState(
  redis: RedisConnection | null,
  events: RedisOperationEvents,
  clock: Clock = systemClock,
): DpopState {
  return {
    replays:
      redis !== null
        ? createRedisDpopReplayStore(redis, events)
        : createMemoryDpopReplayStore({ maxEntries: MEMORY_DPOP_PROOFS, clock }),
    nonceSecret: generatedNonceSecret(),
  };
}
