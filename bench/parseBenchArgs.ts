// Command-line options of bench/run.ts. Every phase is bounded by `durationSeconds`; the defaults
// are the ones bench/README.md's figures are meant to be read against.
import { parseArgs } from "node:util";

export interface BenchOptions {
  /** Length of each measured phase (wrk, fixed-rate, direct Check), seconds. */
  readonly durationSeconds: number;
  /** Warm-up before each measured phase, seconds (JIT, token cache, connection pools). */
  readonly warmupSeconds: number;
  /** Concurrent connections for wrk, and in-flight calls for the direct Check load. */
  readonly connections: number;
  /** Request rate of the fixed-rate latency comparison, req/s. */
  readonly rate: number;
  /** Interleaved repetitions of every phase; the report shows each scenario's median round. */
  readonly rounds: number;
  /** Rate of the first-seen phase (distinct valid tokens through Envoy), req/s. */
  readonly firstSeenRate: number;
  /** The memory phase's distinct valid tokens, then invalid ones, and the idle period after (s). */
  readonly memoryValid: number;
  readonly memoryInvalid: number;
  readonly idleSeconds: number;
  /**
   * The memory phase runs again with --max-old-space-size=this (MB) and the Helm chart's young
   * generation (bench/chartNodeOptions.ts): what the chart gives its 256Mi container.
   */
  readonly heapCapMb: number;
  /** Envoy and the servers on one CPU, the load generators on another (taskset), for wrk and direct Check. */
  readonly pin: boolean;
}

const USAGE = `usage: node --disable-warning=ExperimentalWarning bench/run.ts [--duration 10] [--warmup 2] [--connections 16] [--rate 1000] [--rounds 1] [--first-seen-rate 500] [--memory-valid 50000] [--memory-invalid 100000] [--idle 30] [--heap-cap 112] [--no-pin]`;

function positive(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max)
    throw new Error(`--${name} must be a number in (0, ${max}] (got ${JSON.stringify(raw)})\n${USAGE}`);
  return value;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      rate: { type: "string" },
      rounds: { type: "string" },
      "first-seen-rate": { type: "string" },
      "memory-valid": { type: "string" },
      "memory-invalid": { type: "string" },
      idle: { type: "string" },
      "heap-cap": { type: "string" },
      "no-pin": { type: "boolean" },
    },
    strict: true,
  });
  return {
    durationSeconds: positive("duration", values.duration, 10, 600),
    warmupSeconds: positive("warmup", values.warmup, 2, 60),
    connections: Math.max(1, Math.round(positive("connections", values.connections, 16, 1024))),
    rate: Math.max(1, Math.round(positive("rate", values.rate, 1000, 100_000))),
    rounds: Math.max(1, Math.round(positive("rounds", values.rounds, 1, 20))),
    firstSeenRate: Math.max(1, Math.round(positive("first-seen-rate", values["first-seen-rate"], 500, 100_000))),
    memoryValid: Math.round(positive("memory-valid", values["memory-valid"], 50_000, 1_000_000)),
    memoryInvalid: Math.round(positive("memory-invalid", values["memory-invalid"], 100_000, 1_000_000)),
    idleSeconds: positive("idle", values.idle, 30, 600),
    heapCapMb: Math.round(positive("heap-cap", values["heap-cap"], 112, 65_536)),
    pin: values["no-pin"] !== true,
  };
}
