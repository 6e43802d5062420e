// Builds and loads the next generation of the Check pipeline while the current one serves: refuses
// what a reload cannot change, builds the pipeline (reusing the registry and login where their
// settings did not change) and waits for the providers it adds or changes. Nothing is swapped here;
// on any problem the new registry is closed and the current generation keeps serving.
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import type { ConfigIssue } from "../config/ConfigIssue.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { Metrics } from "../observability/Metrics.ts";
import { buildCheckPipeline, type CheckPipeline } from "./buildCheckPipeline.ts";
import type { SharedSessionState } from "./createSharedSessionState.ts";
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

export type PreparedReload =
  | { readonly ready: true; readonly pipeline: CheckPipeline; readonly summary: ReloadSummary }
  | { readonly ready: false; readonly outcome: ApplyOutcome };

export interface ReloadContext {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly shared: SharedSessionState;
  readonly clock: Clock;
  /** True once the process is shutting down: a reload that finishes loading then is dropped. */
  readonly closed: () => boolean;
}

export const SHUTTING_DOWN: ApplyOutcome = {
  result: "error",
  problems: [{ path: "(process)", message: "shutting down; the reload was not applied" }],
};

export async function prepareReload(
  old: CheckPipeline,
  next: PortcullisConfig,
  context: ReloadContext,
): Promise<PreparedReload> {
  const invalid = reloadProblems(old.config, next);
  if (invalid.length > 0) return { ready: false, outcome: { result: "invalid", problems: invalid } };
  const oldProviders = old.config.providers;
  const loadedAnew = Object.values(next.providers)
    .filter((p) => !isDeepStrictEqual(oldProviders[p.name], p))
    .map((p) => p.name);
  let pipeline: CheckPipeline;
  try {
    pipeline = buildCheckPipeline(next, context.logger, {
      metrics: context.metrics,
      previous: old,
      shared: context.shared,
      clock: context.clock,
    });
  } catch (error) {
    // The parser should have refused whatever makes a build fail; nothing was swapped.
    const message = `could not build the new pipeline: ${error instanceof Error ? error.message : "unknown error"}`;
    return { ready: false, outcome: { result: "error", problems: [{ path: "(config)", message }] } };
  }
  const fresh = pipeline.registry !== old.registry;
  if (fresh) await pipeline.registry.start();
  const notLoaded = pipeline.registry.status().filter((s) => !s.ready && loadedAnew.includes(s.provider));
  if (context.closed() || notLoaded.length > 0) {
    if (fresh) pipeline.registry.close(); // providers it shares with the current registry stay up
    if (context.closed()) return { ready: false, outcome: SHUTTING_DOWN };
    const problems = notLoaded.map((s) => ({
      path: `providers.${s.provider}`,
      message: `could not load (${s.lastError ?? "not ready"}); the reload was not applied`,
    }));
    return { ready: false, outcome: { result: "error", problems } };
  }
  const summary: ReloadSummary = {
    routes: next.routes.length,
    providersKept: Object.keys(next.providers).filter((name) => !loadedAnew.includes(name)),
    providersLoaded: loadedAnew,
    providersRemoved: Object.keys(oldProviders).filter((name) => !(name in next.providers)),
    sessionsKept: pipeline.login === old.login,
  };
  return { ready: true, pipeline, summary };
}
