// The benchmark's results as data (written to bench/results/latest.json) and the ratios and targets
// derived from them. A scenario that could not run is null, and its reason is in `problems`.
import type { MemoryResult } from "./measureMemory.ts";
import type {
  CheckMeasurement,
  FirstSeenMeasurement,
  FixedRateMeasurement,
  RoundResult,
  WrkMeasurement,
} from "./measureRound.ts";
import type { BenchOptions } from "./parseBenchArgs.ts";
import type { ClusterTlsCounters } from "./readEnvoyClusterTls.ts";
import type { TokenCacheLookups } from "./readTokenCacheLookups.ts";

export interface ByAuth<T> {
  readonly noAuth: T | null;
  readonly jwtAuthn: T | null;
  /** ext_authz to the no-op grpc-go Check server: the floor of any ext_authz gRPC server. */
  readonly noopGoExtAuthz: T | null;
  /** ext_authz to the no-op grpc-js Check server: the floor of an ext_authz server on grpc-js. */
  readonly noopExtAuthz: T | null;
  readonly portcullis: T | null;
  /**
   * The bearer token through a second Portcullis that Envoy reaches over mTLS (listen.tls, client
   * certificate required; shipped UpstreamTlsContext). Absent in results files written before it was measured.
   */
  readonly portcullisMtls?: T | null;
  /** The Portcullis route with a sealed browser-session cookie instead of the bearer token (wrk only: fixed-rate is null). */
  readonly portcullisSession: T | null;
  /** ext_authz over HTTP to oauth2-proxy (bearer JWTs accepted), when it was built. */
  readonly oauth2Proxy: T | null;
}

/** The bearer token over mTLS to Portcullis against the same over plaintext, in the same run. */
export interface MtlsRatios {
  /** wrk req/s, mTLS / plaintext. */
  readonly throughputVsPlaintext: number | null;
  /** wrk req/s, mTLS / the no-op grpc-go route (plaintext): the floor of any ext_authz server. */
  readonly throughputVsNoopGo: number | null;
  /** Under wrk, CPU µs per request (Envoy + Portcullis), mTLS / plaintext, and each process's alone. */
  readonly cpuVsPlaintext: number | null;
  readonly envoyCpuVsPlaintext: number | null;
  readonly portcullisCpuVsPlaintext: number | null;
  /** Under wrk, CPU µs per request (Envoy + Portcullis) mTLS − plaintext: what TLS adds to each request. */
  readonly addedCpuUsPerRequest: number | null;
  /** Fixed-rate p99 (unpinned), mTLS − plaintext route (ms). */
  readonly addedP99Ms: number | null;
}

export interface TargetCheck {
  readonly name: string;
  readonly value: number | null;
  readonly target: string;
  readonly pass: boolean | null;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly options: BenchOptions;
  readonly environment: Readonly<Record<string, string | number>>;
  readonly throughput: ByAuth<WrkMeasurement>;
  readonly fixedRate: ByAuth<FixedRateMeasurement>;
  /** The fixed rate with Envoy and the server pinned to one CPU: no-op grpc-go and Portcullis only. */
  readonly fixedRatePinned: ByAuth<FixedRateMeasurement>;
  readonly check: {
    readonly noopFloor: CheckMeasurement | null;
    readonly noopGoFloor: CheckMeasurement | null;
    readonly portcullis: CheckMeasurement | null;
  };
  /** Distinct valid tokens through Envoy at --first-seen-rate (median round by CPU added per check). */
  readonly firstSeen: FirstSeenMeasurement | null;
  /** Cold start, RSS at ready and after the token streams and the idle period (a fresh process). */
  readonly memory: MemoryResult | null;
  /** The same memory phase with the V8 heap capped at --heap-cap MB (what a 256 Mi container gives). */
  readonly memoryHeapCapped: MemoryResult | null;
  /** RSS (MB) of each long-running process right after it was ready. */
  readonly rssAtReadyMb: Readonly<Record<string, number | null>>;
  /** Peers the bench could not run here, each with why (e.g. OPA-envoy, oauth2-proxy). */
  readonly skippedPeers: readonly { readonly peer: string; readonly reason: string }[];
  /** Portcullis's own token-cache counters after the run: the hot path is the hit path. */
  readonly portcullisTokenCache: TokenCacheLookups | null;
  /**
   * Envoy's counters of the mTLS route's cluster after the run: handshakes beside the Check calls
   * they carried (HTTP/2 reuses a connection). Absent in results files from before that route.
   */
  readonly portcullisMtlsConnections?: ClusterTlsCounters | null;
  /** Every round's raw figures; the fields above hold each scenario's median round. */
  readonly rounds: readonly RoundResult[];
  readonly ratios: {
    readonly throughputVsJwtAuthn: number | null;
    readonly throughputVsNoAuth: number | null;
    /** wrk req/s, Portcullis route / ext_authz → no-op route. */
    readonly throughputVsNoopExtAuthz: number | null;
    /** wrk req/s, Portcullis route / ext_authz → no-op grpc-go route. */
    readonly throughputVsNoopGo: number | null;
    /** Server CPU per direct Check call, Portcullis / no-op grpc-go. */
    readonly checkServerCpuVsNoopGo: number | null;
    /** Fixed-rate p99 (unpinned), Portcullis route − no-op grpc-go route. */
    readonly addedP99VsNoopGoMs: number | null;
    /** Fixed-rate p99 pinned to one CPU, Portcullis route / no-op grpc-go route. */
    readonly pinnedP99VsNoopGo: number | null;
    /**
     * Portcullis CPU per check, first-seen token − cached token, both through Envoy at --first-seen-rate
     * in the same round (results files from before that: the cached token at --rate).
     */
    readonly firstSeenAddedCpuUs: number | null;
    /** RSS after the memory phase's token streams − RSS at ready (the fresh process). */
    readonly rssGrowthMb: number | null;
    /** Server CPU for the memory phase's token streams, heap capped / Node's default heap. */
    readonly heapCappedCpuVsDefault: number | null;
    readonly checkVsNoopFloor: number | null;
    readonly addedP99VsNoAuthMs: number | null;
    readonly addedP99VsJwtAuthnMs: number | null;
    readonly addedServiceP99VsNoAuthMs: number | null;
    /** Fixed-rate p99, Portcullis route − ext_authz → no-op route: what Portcullis adds beyond the gRPC hop. */
    readonly addedP99VsNoopExtAuthzMs: number | null;
    readonly addedServiceP99VsNoopExtAuthzMs: number | null;
    /** Server CPU per Check call, Portcullis / no-op: independent of which side the client saturates. */
    readonly checkServerCpuVsNoopFloor: number | null;
    /** At the fixed rate, CPU µs per request (Envoy + Portcullis) minus Envoy's with jwt_authn. */
    readonly addedCpuUsPerRequestVsJwtAuthn: number | null;
    /** wrk req/s, session cookie / bearer token, both through Portcullis. */
    readonly sessionThroughputVsBearer: number | null;
    /** Under wrk, Portcullis's own CPU per request, session cookie / bearer token. */
    readonly sessionPortcullisCpuVsBearer: number | null;
    /** The mTLS route against the plaintext one (absent in results files from before it). */
    readonly mtls?: MtlsRatios;
  };
  readonly targets: readonly TargetCheck[];
  /** Scenarios skipped or with errors: the run exits 1. */
  readonly problems: readonly string[];
  /** Conditions that make figures pessimistic or noisy (busy machine, lagging generator). */
  readonly warnings: readonly string[];
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? a / b : null;
const totalCpu = (cpu: Record<string, number | null> | undefined) => {
  if (!cpu) return undefined;
  const values = Object.values(cpu);
  return values.some((v) => v === null) ? undefined : values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
};
/** Server CPU µs the memory phase's two token streams took in all. */
const streamCpu = (m: MemoryResult | null) => {
  if (!m || m.valid.serverCpuUsPerCall === null || m.invalid.serverCpuUsPerCall === null) return undefined;
  return m.valid.serverCpuUsPerCall * m.valid.calls + m.invalid.serverCpuUsPerCall * m.invalid.calls;
};
const difference = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined ? a - b : null;

/** First-seen − cached Portcullis CPU per check, against the cached token at the same rate when measured. */
export function firstSeenAddedCpu(
  firstSeen: FirstSeenMeasurement | null,
  cachedAtRate: FixedRateMeasurement | null,
): number | null {
  const cached = firstSeen?.cachedSameRate ?? cachedAtRate;
  return difference(
    firstSeen?.cpuUsPerRequest["portcullis"] ?? undefined,
    cached?.cpuUsPerRequest["portcullis"] ?? undefined,
  );
}

function mtlsRatios(input: Omit<BenchReport, "ratios" | "targets">): MtlsRatios {
  const { throughput: t, fixedRate: f } = input;
  const mtls = t.portcullisMtls?.cpuUsPerRequest;
  const plain = t.portcullis?.cpuUsPerRequest;
  const share = (cpu: typeof mtls, name: string) => cpu?.[name] ?? undefined;
  return {
    throughputVsPlaintext: ratio(t.portcullisMtls?.requestsPerSecond, t.portcullis?.requestsPerSecond),
    throughputVsNoopGo: ratio(t.portcullisMtls?.requestsPerSecond, t.noopGoExtAuthz?.requestsPerSecond),
    cpuVsPlaintext: ratio(totalCpu(mtls), totalCpu(plain)),
    envoyCpuVsPlaintext: ratio(share(mtls, "envoy"), share(plain, "envoy")),
    portcullisCpuVsPlaintext: ratio(share(mtls, "portcullis"), share(plain, "portcullis")),
    addedCpuUsPerRequest: difference(totalCpu(mtls), totalCpu(plain)),
    addedP99Ms: difference(f.portcullisMtls?.responseTime.p99Ms, f.portcullis?.responseTime.p99Ms),
  };
}

export function buildReport(input: Omit<BenchReport, "ratios" | "targets">): BenchReport {
  const { throughput: t, fixedRate: f, check: c } = input;
  const ratios = {
    throughputVsJwtAuthn: ratio(t.portcullis?.requestsPerSecond, t.jwtAuthn?.requestsPerSecond),
    throughputVsNoAuth: ratio(t.portcullis?.requestsPerSecond, t.noAuth?.requestsPerSecond),
    throughputVsNoopExtAuthz: ratio(t.portcullis?.requestsPerSecond, t.noopExtAuthz?.requestsPerSecond),
    throughputVsNoopGo: ratio(t.portcullis?.requestsPerSecond, t.noopGoExtAuthz?.requestsPerSecond),
    checkServerCpuVsNoopGo: ratio(
      c.portcullis?.serverCpuUsPerCall ?? undefined,
      c.noopGoFloor?.serverCpuUsPerCall ?? undefined,
    ),
    addedP99VsNoopGoMs: difference(f.portcullis?.responseTime.p99Ms, f.noopGoExtAuthz?.responseTime.p99Ms),
    pinnedP99VsNoopGo: ratio(
      input.fixedRatePinned.portcullis?.responseTime.p99Ms,
      input.fixedRatePinned.noopGoExtAuthz?.responseTime.p99Ms,
    ),
    firstSeenAddedCpuUs: firstSeenAddedCpu(input.firstSeen, f.portcullis),
    heapCappedCpuVsDefault: ratio(streamCpu(input.memoryHeapCapped), streamCpu(input.memory)),
    rssGrowthMb: difference(input.memory?.rssAfterLoadMb ?? undefined, input.memory?.rssAtReadyMb ?? undefined),
    checkVsNoopFloor: ratio(c.portcullis?.requestsPerSecond, c.noopFloor?.requestsPerSecond),
    addedP99VsNoAuthMs: difference(f.portcullis?.responseTime.p99Ms, f.noAuth?.responseTime.p99Ms),
    addedP99VsJwtAuthnMs: difference(f.portcullis?.responseTime.p99Ms, f.jwtAuthn?.responseTime.p99Ms),
    addedServiceP99VsNoAuthMs: difference(f.portcullis?.serviceTime.p99Ms, f.noAuth?.serviceTime.p99Ms),
    addedP99VsNoopExtAuthzMs: difference(f.portcullis?.responseTime.p99Ms, f.noopExtAuthz?.responseTime.p99Ms),
    addedServiceP99VsNoopExtAuthzMs: difference(f.portcullis?.serviceTime.p99Ms, f.noopExtAuthz?.serviceTime.p99Ms),
    checkServerCpuVsNoopFloor: ratio(
      c.portcullis?.serverCpuUsPerCall ?? undefined,
      c.noopFloor?.serverCpuUsPerCall ?? undefined,
    ),
    addedCpuUsPerRequestVsJwtAuthn: difference(
      totalCpu(f.portcullis?.cpuUsPerRequest),
      totalCpu(f.jwtAuthn?.cpuUsPerRequest),
    ),
    sessionThroughputVsBearer: ratio(t.portcullisSession?.requestsPerSecond, t.portcullis?.requestsPerSecond),
    sessionPortcullisCpuVsBearer: ratio(
      t.portcullisSession?.cpuUsPerRequest["portcullis"] ?? undefined,
      t.portcullis?.cpuUsPerRequest["portcullis"] ?? undefined,
    ),
    ...("portcullisMtls" in t ? { mtls: mtlsRatios(input) } : {}),
  };
  const target = (name: string, value: number | null, text: string, ok: (v: number) => boolean): TargetCheck => ({
    name,
    value,
    target: text,
    pass: value === null ? null : ok(value),
  });
  // The goals of the transport work (issue 15), each against a floor measured in the same run.
  const targets = [
    target(
      "Check server CPU per call, Portcullis / no-op grpc-go",
      ratios.checkServerCpuVsNoopGo,
      "<= 1.5",
      (v) => v <= 1.5,
    ),
    target(
      "throughput through Envoy, Portcullis / no-op grpc-go",
      ratios.throughputVsNoopGo,
      ">= 0.85",
      (v) => v >= 0.85,
    ),
    target(
      "throughput through Envoy, Portcullis / no-op grpc-js",
      ratios.throughputVsNoopExtAuthz,
      ">= 1.2",
      (v) => v >= 1.2,
    ),
    target(
      `p99 added vs no-op grpc-go at ${input.options.rate} req/s, unpinned (ms)`,
      ratios.addedP99VsNoopGoMs,
      "<= 1",
      (v) => v <= 1,
    ),
    target(
      `p99 at ${input.options.rate} req/s pinned to one CPU, Portcullis / no-op grpc-go`,
      ratios.pinnedP99VsNoopGo,
      "<= 2",
      (v) => v <= 2,
    ),
    target(
      "first-seen token: Portcullis CPU added per check (µs)",
      ratios.firstSeenAddedCpuUs,
      "<= 150",
      (v) => v <= 150,
    ),
    target("RSS growth after the token streams (MB)", ratios.rssGrowthMb, "<= 128", (v) => v <= 128),
    target(
      `token streams' CPU with the heap capped at ${input.options.heapCapMb} MB / default heap`,
      ratios.heapCappedCpuVsDefault,
      "<= 1.3",
      (v) => v <= 1.3,
    ),
  ];
  return { ...input, ratios, targets };
}
