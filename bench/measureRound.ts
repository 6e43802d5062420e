// One round of every measurement, in a fixed order: wrk on each route, the fixed-rate load on each
// route (no auth, jwt_authn, ext_authz → no-op, ext_authz → Portcullis with the bearer token; wrk
// also on the same route with a session cookie), then direct Check on the no-op floor and on
// Portcullis. A phase that fails is null and its reason is added to `problems`; the others still run.
import type { CheckLoadResult, CheckLoadSpec } from "./checkLoadProcess.ts";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import type { FixedRateResult, FixedRateSpec } from "./fixedRateLoad.ts";
import type { BenchOptions } from "./parseBenchArgs.ts";
import type { WrkResult } from "./parseWrkOutput.ts";
import { withCpuUsage } from "./readProcessCpuSeconds.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { runWrk } from "./runWrk.ts";

/** portcullisSession: the Portcullis route again, with a browser's sealed session cookie instead of the token. */
export type Scenario = "noAuth" | "jwtAuthn" | "noopExtAuthz" | "portcullis" | "portcullisSession";

export interface RoundTargets {
  /** Scenario → the Envoy URL that passed its sanity probe (absent: not measured). */
  readonly urls: ReadonlyMap<Scenario, string>;
  readonly labels: Readonly<Record<Scenario, string>>;
  /** The credential each scenario sends (Authorization, or Cookie for the session scenario). */
  readonly headers: Readonly<Record<Scenario, Record<string, string>>>;
  readonly noopCheckTarget: string;
  readonly portcullisCheckTarget: string | null;
  readonly checkRequest: object;
  /** Processes whose CPU time per request is reported (Linux /proc). */
  readonly pids: { readonly envoy?: number; readonly portcullis?: number; readonly noopCheck?: number };
}

/** CPU microseconds per request spent in each server process during the phase (null: unknown). */
export type CpuPerRequest = Record<string, number | null>;
export type WrkMeasurement = WrkResult & { readonly cpuUsPerRequest: CpuPerRequest };
export type FixedRateMeasurement = FixedRateResult & { readonly cpuUsPerRequest: CpuPerRequest };
export type CheckMeasurement = CheckLoadResult & { readonly serverCpuUsPerCall: number | null };

export interface RoundResult {
  readonly throughput: Record<Scenario, WrkMeasurement | null>;
  readonly fixedRate: Record<Scenario, FixedRateMeasurement | null>;
  readonly check: { noopFloor: CheckMeasurement | null; portcullis: CheckMeasurement | null };
}

function perRequest(cpuSeconds: Record<string, number | null>, requests: number): CpuPerRequest {
  return Object.fromEntries(
    Object.entries(cpuSeconds).map(([name, sec]) => [
      name,
      sec === null || requests <= 0 ? null : (sec / requests) * 1e6,
    ]),
  );
}

// The no-op ext_authz route runs right before Portcullis's, and the session cookie right after the
// bearer token, so each pair compared sees the same conditions.
const SCENARIO_ORDER: readonly Scenario[] = ["noAuth", "jwtAuthn", "noopExtAuthz", "portcullis", "portcullisSession"];
// The session cookie runs under wrk only: a fixed-rate phase more per round would take a 3-round run
// with --duration 8 past six minutes. Its per-request cost is in CPU µs/req and in bench/checkPath.ts.
const FIXED_RATE_ORDER: readonly Scenario[] = SCENARIO_ORDER.filter((s) => s !== "portcullisSession");
const none = (): Record<Scenario, null> => ({
  noAuth: null,
  jwtAuthn: null,
  noopExtAuthz: null,
  portcullis: null,
  portcullisSession: null,
});

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

  // Envoy's CPU is charged on every route; each Check server's only on its own route (elsewhere it idles).
  const serverPids = (s: Scenario): Record<string, number | undefined> => {
    if (s === "portcullis" || s === "portcullisSession")
      return { envoy: targets.pids.envoy, portcullis: targets.pids.portcullis };
    if (s === "noopExtAuthz") return { envoy: targets.pids.envoy, noop: targets.pids.noopCheck };
    return { envoy: targets.pids.envoy };
  };

  const throughput: Record<Scenario, WrkMeasurement | null> = none();
  for (const s of SCENARIO_ORDER) {
    const url = targets.urls.get(s);
    if (!url) continue;
    const spec = { url, headers: targets.headers[s], connections: options.connections };
    throughput[s] = await attempt(`wrk, ${targets.labels[s]}`, async () => {
      await runWrk(group, `wrk-warmup-${s}`, { ...spec, durationSeconds: options.warmupSeconds });
      const { result, cpuSeconds } = await withCpuUsage(serverPids(s), () =>
        runWrk(group, `wrk-${s}`, { ...spec, durationSeconds: options.durationSeconds }),
      );
      return { ...result, cpuUsPerRequest: perRequest(cpuSeconds, result.requests) };
    });
  }

  const fixedRate: Record<Scenario, FixedRateMeasurement | null> = none();
  for (const s of FIXED_RATE_ORDER) {
    const url = targets.urls.get(s);
    if (!url) continue;
    const spec: FixedRateSpec = {
      url,
      headers: targets.headers[s],
      rate: options.rate,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      connections: options.connections,
      timeoutMs: 2000,
    };
    fixedRate[s] = await attempt(`fixed rate ${options.rate}/s, ${targets.labels[s]}`, async () => {
      const { result, cpuSeconds } = await withCpuUsage(serverPids(s), () =>
        runJsonChild<FixedRateResult>(group, `fixed-rate-${s}`, here("./fixedRateLoad.ts"), spec, boundMs),
      );
      // The CPU window spans warm-up and measurement; every scheduled request of both was sent.
      return {
        ...result,
        cpuUsPerRequest: perRequest(cpuSeconds, options.rate * (options.warmupSeconds + options.durationSeconds)),
      };
    });
  }

  const checkSpec = (target: string): CheckLoadSpec => ({
    target,
    concurrency: options.connections,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    request: targets.checkRequest,
  });
  const directCheck = async (name: string, target: string, pid: number | undefined): Promise<CheckMeasurement> => {
    const { result, cpuSeconds } = await withCpuUsage({ server: pid }, () =>
      runJsonChild<CheckLoadResult>(group, name, here("./checkLoadProcess.ts"), checkSpec(target), boundMs),
    );
    return { ...result, serverCpuUsPerCall: perRequest(cpuSeconds, result.totalCalls)["server"] ?? null };
  };
  const noopFloor = await attempt("direct Check, no-op floor", () =>
    directCheck("check-noop", targets.noopCheckTarget, targets.pids.noopCheck),
  );
  const portcullisTarget = targets.portcullisCheckTarget;
  const portcullis =
    portcullisTarget === null
      ? null
      : await attempt("direct Check, Portcullis", () =>
          directCheck("check-portcullis", portcullisTarget, targets.pids.portcullis),
        );
  return { throughput, fixedRate, check: { noopFloor, portcullis } };
}
