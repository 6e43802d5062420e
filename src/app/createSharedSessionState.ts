// What every generation of the Check pipeline shares across config reloads: the Redis connection
// (when `redis` is configured), the revocation list (back-channel logouts and sign-outs), so a
// logout learned before a reload still holds after it, and the DPoP replay store and nonce key, so a
// proof used before a reload is still refused after it. Redis going away (or no longer answering its
// health PINGs) and coming back is logged once each way.
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { Metrics } from "../observability/Metrics.ts";
import { LOGOUT_TOKEN_MAX_AGE_SECONDS } from "../oidc/createLogoutTokenDispatcher.ts";
import { createRedisConnection, type RedisConnection } from "../session/createRedisConnection.ts";
import type { RedisOperationEvents } from "../session/RedisOperationEvents.ts";
import { createRevocationList, type RevocationList } from "../session/createRevocationList.ts";
import { createAssertionKeyring, type AssertionKeyring } from "./createAssertionKeyring.ts";
import { createDpopState, type DpopState } from "./createDpopState.ts";

export interface SharedSessionState {
  readonly redis: RedisConnection | null;
  readonly revocations: RevocationList;
  /** The keys that sign identity assertions: a generated one outlives reloads (and is shared through Redis). */
  readonly assertionKeys: AssertionKeyring;
  /** Where DPoP proofs are remembered (Redis when configured) and the generated nonce key. */
  readonly dpop: DpopState;
  /** Counts Redis operations once metrics exist. */
  readonly redisEvents: RedisOperationEvents;
  observe(metrics: Metrics): void;
  close(): void;
}

/** `clock`: the process's one clock (the Redis health PINGs, the revocation list); default: the system clock. */
export function createSharedSessionState(
  config: PortcullisConfig,
  logger: Logger,
  clock: Clock = systemClock,
): SharedSessionState {
  let metrics: Metrics | null = null;
  const redisEvents: RedisOperationEvents = {
    operation(operation, outcome, seconds) {
      metrics?.redisOperations.inc({ operation, result: outcome === "ok" ? "ok" : "error" });
      if (seconds !== undefined) metrics?.redisOperationDuration.observe({ operation, outcome }, seconds);
    },
  };
  const configured = config.redis.url !== null || config.redis.sentinels.length > 0;
  const redis = configured
    ? createRedisConnection(
        config.redis,
        {
          upChanged(up, detail) {
            if (up) logger.info({ redis: detail }, "Redis connected");
            else
              logger.warn(
                { redis: detail },
                "Redis unavailable: session requests get 503 until it is back; bearer tokens are unaffected",
              );
          },
        },
        clock,
      )
    : null;
  const revocations = createRevocationList({
    connection: redis,
    jtiTtlSeconds: LOGOUT_TOKEN_MAX_AGE_SECONDS * 2,
    events: redisEvents,
    logger,
    clock,
  });
  const assertionKeys = createAssertionKeyring(redis, logger, clock);
  return {
    redis,
    revocations,
    assertionKeys,
    dpop: createDpopState(redis, redisEvents, clock),
    redisEvents,
    observe(m) {
      metrics = m;
    },
    close() {
      revocations.close();
      assertionKeys.close();
      void redis?.close();
    },
  };
}
