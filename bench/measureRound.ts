// One round of every measurement, in a fixed order: wrk on each route (pinned: Envoy and the servers
// on one CPU, the load generators on another), the fixed-rate load on each route (unpinned, every
// CPU free; with Portcullis's event-loop delay), first-seen tokens at a fixed rate through Envoy, then
// direct Check on the no-op floors (grpc-go, grpc-js) and on Portcullis. A phase that fails is null
// and its reason is added to `problems`; the others still run.
import type { CheckLoadResult, CheckLoadSpec } from "./checkLoadProcess.ts";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import type { FixedRateResult, FixedRateSpec } from "./fixedRateLoad.ts";
import type { BenchOptions } from "./parseBenchArgs.ts";
import type { WrkResult } from "./parseWrkOutput.ts";
import { readEventLoopDelay, resetEventLoopDelay, type EventLoopDelay } from "./readEventLoopDelay.ts";
import { withCpuUsage } from "./readProcessCpuSeconds.ts";
import { readTokenCacheLookups } from "./readTokenCacheLookups.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { runWrk } from "./runWrk.ts";

/** portcullisSession: the Portcullis route again, with a browser's sealed session cookie instead of the token. */
/** portcullisMtls: the bearer token through a second Portcullis that Envoy reaches over mTLS. */
/** noopGoExtAuthz: ext_authz to the no-op grpc-go server; noopExtAuthz: to the no-op grpc-js server. */
export type Scenario =
  | "noAuth"
  | "jwtAuthn"
  | "noopGoExtAuthz"
  | "noopExtAuthz"
  | "portcullis"
  | "portcullisMtls"
  | "portcullisSession"
  | "oauth2Proxy";

export interface RoundTargets {
  /** Scenario → the Envoy URL that passed its sanity probe (absent: not measured). */
  readonly urls: ReadonlyMap<Scenario, string>;
  readonly labels: Readonly<Record<Scenario, string>>;
  /** The credential each scenario sends (Authorization, or Cookie for the session scenario). */
  readonly headers: Readonly<Record<Scenario, Record<string, string>>>;
  readonly noopCheckTarget: string;
  readonly noopGoCheckTarget: string | null;
  readonly portcullisCheckTarget: string | null;
  readonly portcullisAdminPort: number | null;
  /** The mTLS Portcullis's admin listener (its event-loop delay), null when it does not run. */
  readonly portcullisMtlsAdminPort: number | null;
  readonly checkRequest: object;
  /** This round's distinct valid tokens for the first-seen phase (null: phase skipped). */
  readonly firstSeenTokensFile: string | null;
  readonly firstSeenRate: number;
  /** Processes whose CPU time per request is reported (Linux /proc). */
  readonly pids: {
    readonly envoy?: number;
    readonly portcullis?: number;
    readonly portcullisMtls?: number;
    readonly noopCheck?: number;
    readonly noopGoCheck?: number;
    readonly oauth2Proxy?: number;
  };
}

/** CPU microseconds per request spent in each server process during the phase (null: unknown). */
export type CpuPerRequest = Record<string, number | null>;
export type WrkMeasurement = WrkResult & { readonly cpuUsPerRequest: CpuPerRequest };
export type FixedRateMeasurement = FixedRateResult & {
  readonly cpuUsPerRequest: CpuPerRequest;
  /** Portcullis's event-loop delay during the phase (Portcullis routes only; null elsewhere or unknown). */
  readonly eventLoopDelay: EventLoopDelay | null;
};
/** Distinct valid tokens through Envoy at a fixed rate: every check is a first sight (cache misses counted). */
export type FirstSeenMeasurement = FixedRateMeasurement & {
  readonly tokenCacheMisses: number | null;
  /**
   * The cached token at the same rate, right before in the same round: what a first-seen check is
   * compared with (CPU per request at another rate carries another share of per-wakeup overhead).
   * Absent in results files written before it was measured.
   */
  readonly cachedSameRate?: FixedRateMeasurement;
};
export type CheckMeasurement = CheckLoadResult & { readonly serverCpuUsPerCall: number | null };

export interface RoundResult {
  readonly throughput: Record<Scenario, WrkMeasurement | null>;
  readonly fixedRate: Record<Scenario, FixedRateMeasurement | null>;
  /** The fixed rate again with pinning on (no-op grpc-go and Portcullis only; all null when unpinned). */
  readonly fixedRatePinned: Record<Scenario, FixedRateMeasurement | null>;
  readonly check: {
    noopFloor: CheckMeasurement | null;
    noopGoFloor: CheckMeasurement | null;
    portcullis: CheckMeasurement | null;
  };
  readonly firstSeen: FirstSeenMeasurement | null;
  /** Whether the wrk and direct-Check phases ran pinned (the fixed-rate phases never are). */
  readonly pinned: boolean;
}

function perRequest(cpuSeconds: Record<string, number | null>, requests: number): CpuPerRequest {
  return Object.fromEntries(
    Object.entries(cpuSeconds).map(([name, sec]) => [
      name,
      sec === null || requests <= 0 ? null : (sec / requests) * 1e6,
    ]),
  );
}

// The no-op ext_authz route runs right before Portcullis's, mTLS and the session cookie right after
// the plaintext bearer token, so each pair compared sees the same conditions.
export const SCENARIO_ORDER: readonly Scenario[] = [
  "noAuth",
  "jwtAuthn",
  "noopGoExtAuthz",
  "noopExtAuthz",
  "portcullis",
  "portcullisMtls",
  "portcullisSession",
  "oauth2Proxy",
];
// The session cookie runs under wrk only: a fixed-rate phase more per round would take a 3-round run
// with --duration 8 past six minutes. Its per-request cost is in CPU µs/req and in bench/checkPath.ts.
export const FIXED_RATE_ORDER: readonly Scenario[] = SCENARIO_ORDER.filter((s) => s !== "portcullisSession");
const none = (): Record<Scenario, null> => ({
  noAuth: null,
  jwtAuthn: null,
  noopGoExtAuthz: null,
  noopExtAuthz: null,
  portcullis: null,
  portcullisMtls: null,
  portcullisSession: null,
  oauth2Proxy: null,
});

/** What every phase of a round shares: the group, options, targets and the failure bookkeeping. */
interface RoundContext {
  readonly group: ChildProcessGroup;
  readonly options: BenchOptions;
  readonly targets: RoundTargets;
  readonly boundMs: number;
  attempt<T>(what: string, run: () => Promise<T>): Promise<T | null>;
}

const here = (file: string) => new URL(file, import.meta.url).pathname;

// Envoy's CPU is charged on every route; each Check server's only on its own route (elsewhere it idles).
function serverPids(targets: RoundTargets, s: Scenario): Record<string, number | undefined> {
  if (s === "portcullis" || s === "portcullisSession")
    return { envoy: targets.pids.envoy, portcullis: targets.pids.portcullis };
  if (s === "portcullisMtls") return { envoy: targets.pids.envoy, portcullis: targets.pids.portcullisMtls };
  if (s === "noopExtAuthz") return { envoy: targets.pids.envoy, noop: targets.pids.noopCheck };
  if (s === "noopGoExtAuthz") return { envoy: targets.pids.envoy, noop: targets.pids.noopGoCheck };
  if (s === "oauth2Proxy") return { envoy: targets.pids.envoy, "oauth2-proxy": targets.pids.oauth2Proxy };
  return { envoy: targets.pids.envoy };
}

async function measureThroughput(ctx: RoundContext): Promise<Record<Scenario, WrkMeasurement | null>> {
  const { group, options, targets } = ctx;
  const throughput: Record<Scenario, WrkMeasurement | null> = none();
  for (const s of SCENARIO_ORDER) {
    const url = targets.urls.get(s);
    if (!url) continue;
    const spec = { url, headers: targets.headers[s], connections: options.connections };
    throughput[s] = await ctx.attempt(`wrk, ${targets.labels[s]}`, async () => {
      await runWrk(group, `wrk-warmup-${s}`, { ...spec, durationSeconds: options.warmupSeconds });
      const { result, cpuSeconds } = await withCpuUsage(serverPids(targets, s), () =>
        runWrk(group, `wrk-${s}`, { ...spec, durationSeconds: options.durationSeconds }),
      );
      return { ...result, cpuUsPerRequest: perRequest(cpuSeconds, result.requests) };
    });
  }
  return throughput;
}

/** One fixed-rate phase, with Portcullis's event-loop delay over it when Portcullis serves the route. */
async function fixedRatePhase(
  ctx: RoundContext,
  s: Scenario,
  spec: FixedRateSpec,
  name: string,
): Promise<FixedRateMeasurement> {
  const adminPort =
    s === "portcullis" || s === "portcullisSession"
      ? ctx.targets.portcullisAdminPort
      : s === "portcullisMtls"
        ? ctx.targets.portcullisMtlsAdminPort
        : null;
  if (adminPort !== null) await resetEventLoopDelay(adminPort);
  const { result, cpuSeconds } = await withCpuUsage(serverPids(ctx.targets, s), () =>
    runJsonChild<FixedRateResult>(ctx.group, name, here("./fixedRateLoad.ts"), spec, ctx.boundMs),
  );
  const eventLoopDelay = adminPort === null ? null : await readEventLoopDelay(adminPort);
  // The CPU window spans warm-up and measurement; every scheduled request of both was sent.
  const sent = spec.rate * (spec.warmupSeconds + spec.durationSeconds);
  return { ...result, cpuUsPerRequest: perRequest(cpuSeconds, sent), eventLoopDelay };
}

// Pinned, only the pair the goal compares: Portcullis against the no-op grpc-go floor on one shared CPU.
const PINNED_FIXED_RATE_ORDER: readonly Scenario[] = ["noopGoExtAuthz", "portcullis"];

/**
 * The phases of a full round (every peer running), each a --warmup plus a --duration: what
 * bench/README.md's "Each round has N phases" counts (test/unit/benchPhases.test.ts holds them together).
 */
export const ROUND_PHASES = {
  wrk: SCENARIO_ORDER.length,
  fixedRateUnpinned: FIXED_RATE_ORDER.length,
  fixedRatePinned: PINNED_FIXED_RATE_ORDER.length,
  // The cached token at the first-seen rate, then the first-seen stream.
  firstSeen: 2,
  // no-op grpc-go, no-op grpc-js, Portcullis.
  directCheck: 3,
} as const;

async function measureFixedRate(
  ctx: RoundContext,
  order: readonly Scenario[],
): Promise<Record<Scenario, FixedRateMeasurement | null>> {
  const { options, targets } = ctx;
  const fixedRate: Record<Scenario, FixedRateMeasurement | null> = none();
  const how = ctx.group.pinned ? ", pinned" : "";
  for (const s of order) {
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
    fixedRate[s] = await ctx.attempt(`fixed rate ${options.rate}/s${how}, ${targets.labels[s]}`, () =>
      fixedRatePhase(ctx, s, spec, `fixed-rate-${s}`),
    );
  }
  return fixedRate;
}

async function measureFirstSeen(ctx: RoundContext): Promise<FirstSeenMeasurement | null> {
  const { options, targets } = ctx;
  const url = targets.urls.get("portcullis");
  const tokensFile = targets.firstSeenTokensFile;
  const adminPort = targets.portcullisAdminPort;
  if (!url || tokensFile === null || adminPort === null) return null;
  const cachedSpec: FixedRateSpec = {
    url,
    headers: targets.headers.portcullis,
    rate: targets.firstSeenRate,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    connections: options.connections,
    timeoutMs: 2000,
  };
  const spec: FixedRateSpec = { ...cachedSpec, headers: {}, tokensFile };
  return ctx.attempt(
    `first-seen tokens beside a cached one at ${targets.firstSeenRate}/s, ext_authz Portcullis`,
    async () => {
      // The same rate, process and round for both: only the token stream differs.
      const cachedSameRate = await fixedRatePhase(ctx, "portcullis", cachedSpec, "first-seen-cached");
      const before = await readTokenCacheLookups(adminPort);
      const measured = await fixedRatePhase(ctx, "portcullis", spec, "first-seen");
      const after = await readTokenCacheLookups(adminPort);
      return { ...measured, tokenCacheMisses: after.misses - before.misses, cachedSameRate };
    },
  );
}

async function measureDirectChecks(ctx: RoundContext): Promise<RoundResult["check"]> {
  const { options, targets } = ctx;
  const checkSpec = (target: string): CheckLoadSpec => ({
    target,
    concurrency: options.connections,
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    request: targets.checkRequest,
  });
  const directCheck = (what: string, name: string, target: string | null, pid: number | undefined) =>
    target === null
      ? Promise.resolve(null)
      : ctx.attempt(`direct Check, ${what}`, async (): Promise<CheckMeasurement> => {
          const { result, cpuSeconds } = await withCpuUsage({ server: pid }, () =>
            runJsonChild<CheckLoadResult>(
              ctx.group,
              name,
              here("./checkLoadProcess.ts"),
              checkSpec(target),
              ctx.boundMs,
            ),
          );
          return { ...result, serverCpuUsPerCall: perRequest(cpuSeconds, result.totalCalls)["server"] ?? null };
        });
  const noopGoFloor = await directCheck(
    "no-op grpc-go floor",
    "check-noop-go",
    targets.noopGoCheckTarget,
    targets.pids.noopGoCheck,
  );
  const noopFloor = await directCheck(
    "no-op grpc-js floor",
    "check-noop",
    targets.noopCheckTarget,
    targets.pids.noopCheck,
  );
  const portcullis = await directCheck(
    "Portcullis",
    "check-portcullis",
    targets.portcullisCheckTarget,
    targets.pids.portcullis,
  );
  return { noopFloor, noopGoFloor, portcullis };
}

export async function measureRound(
  group: ChildProcessGroup,
  options: BenchOptions,
  targets: RoundTargets,
  problems: string[],
  say: (text: string) => void,
): Promise<RoundResult> {
  const phase = `${options.warmupSeconds}s warm-up + ${options.durationSeconds}s`;
  const ctx: RoundContext = {
    group,
    options,
    targets,
    boundMs: (options.warmupSeconds + options.durationSeconds + 20) * 1000,
    attempt: async <T>(what: string, run: () => Promise<T>): Promise<T | null> => {
      say(`${what}: ${phase}${group.pinned ? " (pinned)" : ""}`);
      try {
        return await run();
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        problems.push(`${what}: ${reason}`);
        say(`${what} failed: ${reason}`);
        return null;
      }
    },
  };
  const pinned = group.pinned;
  const throughput = await measureThroughput(ctx);
  const fixedRatePinned = pinned ? await measureFixedRate(ctx, PINNED_FIXED_RATE_ORDER) : none();
  // Latency at a fixed rate with every CPU free, as a deployment would run; pinning is restored after.
  group.setPinned(false);
  let fixedRate: RoundResult["fixedRate"];
  let firstSeen: FirstSeenMeasurement | null;
  try {
    fixedRate = await measureFixedRate(ctx, FIXED_RATE_ORDER);
    firstSeen = await measureFirstSeen(ctx);
  } finally {
    group.setPinned(pinned);
  }
  const check = await measureDirectChecks(ctx);
  return { throughput, fixedRate, fixedRatePinned, check, firstSeen, pinned };
}
