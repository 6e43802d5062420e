// A config reload from the file, as SIGHUP and `--watch` trigger it: load and parse exactly as at
// start, hand the config to the running server, count the result and log it (one warn line per
// problem with its key path; one summary line on success). One reload runs at a time; requests
// that arrive meanwhile are merged into one more reload, which reads the file as it is by then.
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import { formatIssue } from "../config/ConfigIssue.ts";
import { loadCheckedConfig } from "./loadCheckedConfig.ts";
import type { ApplyOutcome } from "./prepareReload.ts";
import type { RunningServer } from "./startServer.ts";

export type ReloadTrigger = "SIGHUP" | "file change";

export interface ConfigReloader {
  /** Resolves once a reload that read the file after this call has finished; never rejects. */
  reload(trigger: ReloadTrigger): Promise<ApplyOutcome["result"]>;
}

export interface ConfigReloaderOptions {
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
  readonly server: Pick<RunningServer, "config" | "reload" | "metrics">;
  readonly logger: Logger;
  /** Times each reload (durationMs) and stamps the last success; default: the system clock. */
  readonly clock?: Clock;
}

export function createConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const { file, env, server, logger } = options;
  const clock = options.clock ?? systemClock;
  let chain: Promise<unknown> = Promise.resolve();
  let queued: Promise<ApplyOutcome["result"]> | null = null;

  async function reloadOnce(trigger: ReloadTrigger): Promise<ApplyOutcome["result"]> {
    const started = clock.now();
    const before = server.config();
    let outcome: ApplyOutcome;
    try {
      const loaded = loadCheckedConfig(file, env);
      for (const w of loaded.warnings) logger.warn({ key: w.path, trigger }, `config reload: ${formatIssue(w)}`);
      outcome = loaded.ok ? await server.reload(loaded.config) : { result: "invalid", problems: loaded.problems };
    } catch (error) {
      outcome = {
        result: "error",
        problems: [{ path: "(process)", message: `unexpected ${error instanceof Error ? error.name : "fault"}` }],
      };
    }
    server.metrics.configReloads.inc({ result: outcome.result });
    // Wall-clock time: a clock step during a reload could make it negative, so it is floored at 0.
    const durationMs = Math.max(0, Math.round(clock.now() - started));
    if (outcome.result === "ok") {
      server.metrics.configLastReloadSuccess.set(clock.now() / 1000);
      const after = server.config();
      logger.info(
        {
          trigger,
          durationMs,
          routes: outcome.summary.routes,
          providersKept: outcome.summary.providersKept,
          providersLoaded: outcome.summary.providersLoaded,
          providersRemoved: outcome.summary.providersRemoved,
          sessionsKept: outcome.summary.sessionsKept,
          // Never the keys themselves: only whether the list changed.
          sessionKeysChanged: before.session.keys.join("\n") !== after.session.keys.join("\n"),
          // API keys (inline and apiKeys.file) by count and whether the set changed, never a digest.
          apiKeys: after.apiKeys?.keys.length ?? 0,
          apiKeysChanged: apiKeySetOf(before) !== apiKeySetOf(after),
        },
        "config reloaded",
      );
      return "ok";
    }
    for (const problem of outcome.problems) {
      logger.warn({ key: problem.path, trigger, result: outcome.result }, `config reload: ${formatIssue(problem)}`);
    }
    logger.warn(
      { trigger, result: outcome.result, problems: outcome.problems.length, durationMs },
      `config reload ${outcome.result === "invalid" ? "refused" : "failed"}: still running on the previous config (${file})`,
    );
    return outcome.result;
  }

  return {
    reload(trigger) {
      // A reload that has not started yet will read the file after this request: join it.
      if (queued !== null) return queued;
      const next = chain.then(() => {
        queued = null;
        return reloadOnce(trigger);
      });
      queued = next;
      chain = next.catch(() => undefined);
      return next;
    },
  };
}

/** The key set a config admits, as one comparable string (client, digest, scopes and roles of each key). */
function apiKeySetOf(config: ReturnType<RunningServer["config"]>): string {
  if (config.apiKeys?.enabled !== true) return "";
  return JSON.stringify(config.apiKeys.keys);
}
