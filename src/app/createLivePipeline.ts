// The Check pipeline of a running process, swappable by a config reload. The gate it hands to the
// ext_authz handlers reads the current generation once per check, so a check in flight finishes on
// the config it started on; a retired generation's registry is closed once its last check is done.
// A reload is all or nothing: it swaps only after the providers it adds or changes have loaded.
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { BrowserLogin } from "../login/createBrowserLogin.ts";
import { createMetrics, type Metrics } from "../observability/Metrics.ts";
import type { DecisionGate } from "../transport/createExtAuthzHandlers.ts";
import type { RedisConnection } from "../session/createRedisConnection.ts";
import type { RevocationList } from "../session/createRevocationList.ts";
import { buildCheckPipeline, type CheckPipeline } from "./buildCheckPipeline.ts";
import { createSharedSessionState } from "./createSharedSessionState.ts";
import { prepareReload, SHUTTING_DOWN, type ApplyOutcome } from "./prepareReload.ts";
import { trackGenerations, type Generations } from "./trackGenerations.ts";

export interface LivePipeline {
  /** What the ext_authz handlers call: the current generation, read once per check. */
  readonly gate: DecisionGate;
  /** The current generation's browser login, for the auth listener; null when browser login is off (fixed at start). */
  readonly login: (() => BrowserLogin) | null;
  /** Process-wide: survive every reload. */
  readonly metrics: Metrics;
  /** The Redis connection when one is configured (for readiness and shutdown). */
  readonly redis: RedisConnection | null;
  /** The process's revocation list (back-channel logouts, sign-outs, the admin API's). */
  readonly revocations: RevocationList;
  current(): CheckPipeline;
  /** First discovery + JWKS attempt of the start-up config's providers (see ProviderRegistry.start). */
  start(): Promise<void>;
  /** Checks, builds and loads the next generation while the current one serves, then swaps. One at a time. */
  apply(next: PortcullisConfig): Promise<ApplyOutcome>;
  /** Closes every registry; checks still in flight keep verifying with loaded keys. */
  close(): void;
}

/** `clock`: the process's one clock, handed to every unit of every generation; default: the system clock. */
export function createLivePipeline(config: PortcullisConfig, logger: Logger, clock: Clock = systemClock): LivePipeline {
  let applying = false;
  let closed = false;
  // Redis and the revocation list are process-wide: every generation shares the connection, and a
  // logout learned before a reload still holds after it.
  const shared = createSharedSessionState(config, logger, clock);
  // The gauges read whichever generation is current when they are scraped.
  let generations: Generations | null = null;
  const current = (): CheckPipeline => (generations as Generations).current();
  const metrics = createMetrics({
    tokenCacheSize: () => current().registry.cacheSize(),
    providerReady: () =>
      current()
        .registry.status()
        .map((s) => ({ provider: s.provider, ready: s.ready })),
    ...(shared.redis !== null ? { redisUp: (shared.redis as RedisConnection).isUp } : {}),
  });
  shared.observe(metrics);
  const tracked = trackGenerations(buildCheckPipeline(config, logger, { metrics, shared, clock }));
  generations = tracked;

  // Every generation has browser login or none (see browserLoginEnabled): the auth listener asks
  // for the current one on each request, so a login completes on the config it arrives under.
  const login = current().login === null ? null : () => current().login as BrowserLogin;

  async function apply(next: PortcullisConfig): Promise<ApplyOutcome> {
    if (closed) return SHUTTING_DOWN;
    if (applying)
      return {
        result: "error",
        problems: [{ path: "(process)", message: "another reload is in progress; the reload was not applied" }],
      };
    applying = true;
    try {
      const prepared = await prepareReload(current(), next, { logger, metrics, shared, clock, closed: () => closed });
      if (!prepared.ready) return prepared.outcome;
      tracked.swap(prepared.pipeline);
      logger.level = next.log.level;
      return { result: "ok", summary: prepared.summary };
    } finally {
      applying = false;
    }
  }

  return {
    gate: { decide: tracked.decide },
    login,
    metrics,
    redis: shared.redis,
    revocations: shared.revocations,
    current,
    start: () => current().registry.start(),
    apply,
    close() {
      if (closed) return;
      closed = true;
      tracked.closeAll();
      shared.close();
    },
  };
}
