// The admin API's settings from a config and the process's Redis and revocation list: what
// createAdminApi reads on each request, in a single process and in a `serve --workers` supervisor.
import type { Clock } from "../clock/Clock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { revocationLifetimeSeconds } from "../login/revocationLifetimeSeconds.ts";
import type { RedisConnection } from "../session/createRedisConnection.ts";
import type { RevocationList } from "../session/createRevocationList.ts";
import { createSessionAdmin } from "../session/createSessionAdmin.ts";
import type { AdminApiSettings } from "./createAdminApi.ts";

/** `shared`: null where an ended session could not reach the processes that serve sessions. */
export function adminApiSettings(
  config: PortcullisConfig,
  shared: { readonly redis: RedisConnection | null; readonly revocations: RevocationList } | null,
  clock: Clock,
): AdminApiSettings {
  const api = config.admin?.api;
  return {
    enabled: api?.enabled === true,
    token: api?.token ?? null,
    providers: Object.keys(config.providers),
    sessions:
      shared === null
        ? null
        : createSessionAdmin({
            connection: shared.redis,
            store: config.session.store,
            revocations: shared.revocations,
            // Kept as long as a back-channel logout is: the user's bearer tokens issued by now are
            // refused too, and must not pass again before they expire.
            lifetimeSeconds: revocationLifetimeSeconds(config.session, Object.values(config.providers)),
            clock,
          }),
    everyReplica: shared !== null && shared.redis !== null,
  };
}
