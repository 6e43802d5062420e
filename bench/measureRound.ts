// One round of every measurement, in a fixed order: wrk on each route, the fixed-rate load on each
// route, then direct Check on the no-op floor and on Portcullis. A phase that fails is null and its
// reason is added to `problems`; the other phases still run.
import type { CheckLoadResult, CheckLoadSpec } from "./checkLoadProcess.ts";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import type { FixedRateResult, FixedRateSpec } from "./fixedRateLoad.ts";
import type { BenchOptions } from "./parseBenchArgs.ts";
import type { WrkResult } from "./parseWrkOutput.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { runWrk } from "./runWrk.ts";

export type Scenario = "noAuth" | "jwtAuthn" | "portcullis";

export interface RoundTargets {
  /** Scenario → the Envoy URL that passed its sanity probe (absent: not measured). */
  readonly urls: ReadonlyMap<Scenario, string>;
  readonly labels: Readonly<Record<Scenario, string>>;
  readonly headers: Record<string, string>;
  readonly noopCheckTarget: string;
  readonly portcullisCheckTarget: string | null;
  readonly checkRequest: object;
}

export interface RoundResult {
  readonly throughput: Record<Scenario, WrkResult | null>;
  readonly fixedRate: Record<Scenario, FixedRateResult | null>;
  readonly check: { noopFloor: CheckLoadResult | null; portcullis: CheckLoadResult | null };
}

const SCENARIO_ORDER: readonly Scenario[] = ["noAuth", "jwtAuthn", "portcullis"];

export async function measureRound(
  group: ChildProcessGroup,
  options: BenchOptions,
  targets: RoundTargets,
  problems: string[],
  say: (text: string) => void,
): Promise<RoundResult> {
  const here = (file: string) => new URL(file, import.meta.url).pathname;
  const phase = `${options.warmupSeconds}s warm-up + ${options.durationSeconds}s`;
  const boundMs = (options.warmupSeconds + options.durationSeconds + 20) * 1000;
  const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | null> => {
    say(`${what}: ${phase}`);
    try {
      return await run();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      problems.push(`${what}: ${reason}`);
      say(`${what} failed: ${reason}`);
      return null;
    }
  };

  const throughput: Record<Scenario, WrkResult | null> = { noAuth: null, jwtAuthn: null, portcullis: null };
  for (const s of SCENARIO_ORDER) {
    const url = targets.urls.get(s);
    if (!url) continue;
    const spec = { url, headers: targets.headers, connections: options.connections };
    throughput[s] = await attempt(`wrk, ${targets.labels[s]}`, async () => {
      await runWrk(group, `wrk-warmup-${s}`, { ...spec, durationSeconds: options.warmupSeconds });
      return runWrk(group, `wrk-${s}`, { ...spec, durationSeconds: options.durationSeconds });
    });
  }

  const fixedRate: Record<Scenario, FixedRateResult | null> = { noAuth: null, jwtAuthn: null, portcullis: null };
  for (const s of SCENARIO_ORDER) {
    const url = targets.urls.get(s);
    if (!url) continue;
    const spec: FixedRateSpec = {
      url,
      headers: targets.headers,
      rate: options.rate,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      connections: options.connections,
      timeoutMs: 2000,
    };
    fixedRate[s] = await attempt(`fixed rate ${options.rate}/s, ${targets.labels[s]}`, () =>
      runJsonChild<FixedRateResult>(group, `fixed-rate-${s}`, here("./fixedRateLoad.ts"), spec, boundMs),
    );
  }

  const checkSpec = (target: string): CheckLoadSpec => ({
    target,
    concurrency: options.connections,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    request: targets.checkRequest,
  });
  const noopFloor = await attempt("direct Check, no-op floor", () =>
    runJsonChild<CheckLoadResult>(group, "check-noop", here("./checkLoadProcess.ts"), checkSpec(targets.noopCheckTarget), boundMs),
  );
  const portcullisTarget = targets.portcullisCheckTarget;
  const portcullis =
    portcullisTarget === null
      ? null
      : await attempt("direct Check, Portcullis", () =>
          runJsonChild<CheckLoadResult>(group, "check-portcullis", here("./checkLoadProcess.ts"), checkSpec(portcullisTarget), boundMs),
        );
  return { throughput, fixedRate, check: { noopFloor, portcullis } };
}
