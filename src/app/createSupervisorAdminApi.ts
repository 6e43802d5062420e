// The admin API as a `serve --workers` supervisor serves it. The supervisor answers the admin
// listener but holds no sessions; its workers share every session and revocation through Redis
// (workersConfigProblems requires Redis with browser login), so the supervisor opens its own Redis
// connection and revocation list and writes there, and every worker learns it by pub/sub like a
// back-channel logout. Relaying over the worker IPC would end a session only in the workers alive at
// that moment, and not in other replicas. Without Redis the API answers admin_needs_redis.
import type { Logger } from "pino";
import { Registry } from "prom-client";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { adminActionsCounter } from "../observability/adminActionsCounter.ts";
import { LOGOUT_TOKEN_MAX_AGE_SECONDS } from "../oidc/createLogoutTokenDispatcher.ts";
import { createRedisConnection } from "../session/createRedisConnection.ts";
import { createRevocationList } from "../session/createRevocationList.ts";
import { adminApiSettings } from "./adminApiSettings.ts";
import { createAdminApi, type AdminApi } from "./createAdminApi.ts";

export interface SupervisorAdminApi {
  readonly api: AdminApi;
  /**
   * A reloaded config's admin.api: a rotated token or an API turned off applies at once (the old
   * token is refused from the next request); an API off at start stays off until a restart, as its
   * Redis connection is opened only at start.
   */
  reload(config: PortcullisConfig): void;
  /** The supervisor's own portcullis_admin_actions_total, in exposition text, for /metrics. */
  metrics(): Promise<string>;
  close(): void;
}

export function createSupervisorAdminApi(
  config: PortcullisConfig,
  logger: Logger,
  clock: Clock = systemClock,
): SupervisorAdminApi {
  const registry = new Registry();
  const counter = adminActionsCounter(registry);
  const enabled = config.admin?.api.enabled === true;
  const hasRedis = config.redis.url !== null || config.redis.sentinels.length > 0;
  const redis = enabled && hasRedis ? createRedisConnection(config.redis, {}, clock) : null;
  const revocations =
    redis === null
      ? null
      : createRevocationList({ connection: redis, jtiTtlSeconds: LOGOUT_TOKEN_MAX_AGE_SECONDS * 2, logger, clock });
  const shared = revocations === null ? null : { redis, revocations };
  let settings = adminApiSettings(config, shared, clock);
  return {
    api: createAdminApi({ settings: () => settings, counter, logger }),
    reload(next) {
      const reloaded = adminApiSettings(next, shared, clock);
      if (reloaded.enabled && !enabled)
        logger.warn(
          { key: "admin.api.enabled" },
          "a reload turned the admin API on: a serve --workers supervisor serves it only after a restart",
        );
      settings = enabled ? reloaded : { ...reloaded, enabled: false };
    },
    metrics: () => registry.metrics(),
    close() {
      revocations?.close();
      void redis?.close();
    },
  };
}
