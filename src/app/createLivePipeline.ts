// The Check pipeline of a running process, swappable by a config reload. The gate it hands to the
// ext_authz handlers reads the current generation once per check, so a check in flight finishes on
// the config it started on; a retired generation's registry is closed once its last check is done.
// A reload is all or nothing: it swaps only after the providers it adds or changes have loaded.
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import type { ConfigIssue } from "../config/ConfigIssue.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import type { BrowserLogin } from "../login/createBrowserLogin.ts";
import { createMetrics, type Metrics } from "../observability/Metrics.ts";
import type { ProviderRegistry } from "../oidc/ProviderRegistry.ts";
import type { DecisionGate } from "../transport/createExtAuthzHandlers.ts";
import type { RedisConnection } from "../session/createRedisConnection.ts";
import { buildCheckPipeline, type CheckPipeline } from "./buildCheckPipeline.ts";
import { createSharedSessionState } from "./createSharedSessionState.ts";
import { reloadProblems } from "./reloadProblems.ts";

export interface ReloadSummary {
  readonly routes: number;
  /** Providers whose settings did not change: discovery, keys and caches kept. */
  readonly providersKept: readonly string[];
  /** Providers added or changed: loaded anew before the swap. */
  readonly providersLoaded: readonly string[];
  readonly providersRemoved: readonly string[];
  /** False when the session settings changed (new sealing keys apply to cookies issued from now on). */
  readonly sessionsKept: boolean;
}

export type ApplyOutcome =
  | { readonly result: "ok"; readonly summary: ReloadSummary }
  /** invalid: the config cannot be applied as written; error: it could not be applied now (a provider did not load). */
  | { readonly result: "invalid" | "error"; readonly problems: readonly ConfigIssue[] };

export interface LivePipeline {
  /** What the ext_authz handlers call: the current generation, read once per check. */
  readonly gate: DecisionGate;
  /** The current generation's browser login, for the auth listener; null when browser login is off (fixed at start). */
  readonly login: (() => BrowserLogin) | null;
  /** Process-wide: survive every reload. */
  readonly metrics: Metrics;
  /** The Redis connection when one is configured (for readiness and shutdown). */
  readonly redis: RedisConnection | null;
  current(): CheckPipeline;
  /** First discovery + JWKS attempt of the start-up config's providers (see ProviderRegistry.start). */
  start(): Promise<void>;
  /** Checks, builds and loads the next generation while the current one serves, then swaps. One at a time. */
  apply(next: PortcullisConfig): Promise<ApplyOutcome>;
  /** Closes every registry; checks still in flight keep verifying with loaded keys. */
  close(): void;
}

interface Generation {
  readonly pipeline: CheckPipeline;
  inflight: number;
  retired: boolean;
}

export function createLivePipeline(config: PortcullisConfig, logger: Logger): LivePipeline {
  // Generations that still use a registry (a kept registry spans several); closed at zero.
  const registryUsers = new Map<ProviderRegistry, number>();
  let current: Generation;
  let applying = false;
  let closed = false;

  // Redis and the revocation list are process-wide: every generation shares the connection, and a
  // logout learned before a reload still holds after it.
  const shared = createSharedSessionState(config, logger);
  const metrics = createMetrics({
    tokenCacheSize: () => current.pipeline.registry.cacheSize(),
    providerReady: () => current.pipeline.registry.status().map((s) => ({ provider: s.provider, ready: s.ready })),
    ...(shared.redis !== null ? { redisUp: (shared.redis as RedisConnection).isUp } : {}),
  });
  shared.observe(metrics);
  current = generation(buildCheckPipeline(config, logger, { metrics, shared }));

  function generation(pipeline: CheckPipeline): Generation {
    registryUsers.set(pipeline.registry, (registryUsers.get(pipeline.registry) ?? 0) + 1);
    return { pipeline, inflight: 0, retired: false };
  }

  function release(gen: Generation): void {
    const { registry } = gen.pipeline;
    // Sessions a reload replaced: no check runs on them any more, and the auth listener uses the current ones.
    if (gen.pipeline.login !== null && gen.pipeline.login !== current.pipeline.login) gen.pipeline.login.close();
    const users = (registryUsers.get(registry) ?? 1) - 1;
    if (users > 0) {
      registryUsers.set(registry, users);
      return;
    }
    registryUsers.delete(registry);
    registry.close();
  }

  function settled(gen: Generation): void {
    gen.inflight -= 1;
    if (gen.retired && gen.inflight === 0) release(gen);
  }

  const gate: DecisionGate = {
    decide(request: AccessRequest): Promise<Decision> {
      const gen = current;
      gen.inflight += 1;
      let decided: Promise<Decision>;
      try {
        decided = gen.pipeline.gate.decide(request);
      } catch (fault) {
        decided = Promise.reject(fault);
      }
      const done = () => settled(gen);
      decided.then(done, done);
      return decided;
    },
  };

  // Every generation has browser login or none (see browserLoginEnabled): the auth listener asks
  // for the current one on each request, so a login completes on the config it arrives under.
  const login = current.pipeline.login === null ? null : () => current.pipeline.login as BrowserLogin;

  async function apply(next: PortcullisConfig): Promise<ApplyOutcome> {
    if (closed)
      return {
        result: "error",
        problems: [{ path: "(process)", message: "shutting down; the reload was not applied" }],
      };
    if (applying)
      return {
        result: "error",
        problems: [{ path: "(process)", message: "another reload is in progress; the reload was not applied" }],
      };
    const old = current;
    const invalid = reloadProblems(old.pipeline.config, next);
    if (invalid.length > 0) return { result: "invalid", problems: invalid };
    applying = true;
    try {
      const oldProviders = old.pipeline.config.providers;
      const loadedAnew = Object.values(next.providers)
        .filter((p) => !isDeepStrictEqual(oldProviders[p.name], p))
        .map((p) => p.name);
      let pipeline: CheckPipeline;
      try {
        pipeline = buildCheckPipeline(next, logger, { metrics, previous: old.pipeline, shared });
      } catch (error) {
        // The parser should have refused whatever makes a build fail; nothing was swapped.
        return {
          result: "error",
          problems: [
            {
              path: "(config)",
              message: `could not build the new pipeline: ${error instanceof Error ? error.message : "unknown error"}`,
            },
          ],
        };
      }
      const fresh = pipeline.registry !== old.pipeline.registry;
      if (fresh) await pipeline.registry.start();
      const notLoaded = pipeline.registry.status().filter((s) => !s.ready && loadedAnew.includes(s.provider));
      if (closed || notLoaded.length > 0) {
        if (fresh) pipeline.registry.close(); // providers it shares with the current registry stay up
        if (closed)
          return {
            result: "error",
            problems: [{ path: "(process)", message: "shutting down; the reload was not applied" }],
          };
        return {
          result: "error",
          problems: notLoaded.map((s) => ({
            path: `providers.${s.provider}`,
            message: `could not load (${s.lastError ?? "not ready"}); the reload was not applied`,
          })),
        };
      }
      // The swap: one reference. Checks already inside old.pipeline.gate finish there.
      current = generation(pipeline);
      old.retired = true;
      if (old.inflight === 0) release(old);
      logger.level = next.log.level;
      const kept = Object.keys(next.providers).filter((name) => !loadedAnew.includes(name));
      return {
        result: "ok",
        summary: {
          routes: next.routes.length,
          providersKept: kept,
          providersLoaded: loadedAnew,
          providersRemoved: Object.keys(oldProviders).filter((name) => !(name in next.providers)),
          sessionsKept: pipeline.login === old.pipeline.login,
        },
      };
    } finally {
      applying = false;
    }
  }

  return {
    gate,
    login,
    metrics,
    redis: shared.redis,
    current: () => current.pipeline,
    start: () => current.pipeline.registry.start(),
    apply,
    close() {
      if (closed) return;
      closed = true;
      for (const registry of registryUsers.keys()) registry.close();
      registryUsers.clear();
      shared.close();
    },
  };
}
