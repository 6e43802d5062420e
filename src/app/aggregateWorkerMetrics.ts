// One scrape for every `serve --workers` worker: each worker's registry (as JSON over IPC) summed by
// prom-client's aggregator (counters and histograms add up; a gauge that says whether something is
// up or ready takes the lowest worker's value, so one worker without keys reads 0), plus the
// supervisor's own series: workers by state, restarts, and checks answered per worker (to see that
// the kernel spreads connections). Counters stay monotonic across worker restarts and missed
// answers: a worker that does not answer counts with its last answer, and the counters and
// histograms a worker had last reported are kept once it is gone, else the sum would drop and
// Prometheus would read the drop as a reset and the next value as a burst. The standard process
// metrics (process_*, nodejs_*) describe one process each, so they are never summed: each worker's
// series carry a `worker` label (its number) and leave with the worker.
import { AggregatorRegistry, Counter, Gauge, Registry } from "prom-client";
import type { WorkerMetrics } from "./workerMessages.ts";

/** Gauges whose sum would mislead: read the worst worker's value. */
const LOWEST_OF_WORKERS = new Set([
  // 1 on every worker, with the same labels: summed it would read as the number of workers.
  "portcullis_build_info",
  "portcullis_provider_ready",
  "portcullis_redis_up",
  "portcullis_config_last_reload_success_timestamp_seconds",
  "portcullis_tls_certificate_expiry_timestamp_seconds",
]);
/** Past this many retired snapshots they are summed into one. */
const RETIRED_KEPT = 8;

export interface WorkerCounts {
  readonly configured: number;
  readonly listening: number;
  readonly ready: number;
  readonly restarts: number;
}

export interface WorkerMetricsRow {
  readonly id: number;
  readonly generation: number;
  readonly metrics: WorkerMetrics | null;
}

export interface WorkerMetricsAggregator {
  aggregate(rows: readonly WorkerMetricsRow[], counts: WorkerCounts): Promise<string>;
}

/** A process's own metrics under their standard names: per worker, never added up. */
const isProcessMetric = (name: string): boolean => name.startsWith("process_") || name.startsWith("nodejs_");

const counting = (metrics: WorkerMetrics): WorkerMetrics =>
  metrics.filter((metric) => ["counter", "histogram"].includes(String(metric.type)) && !isProcessMetric(metric.name));

const withAggregators = (id: number, metrics: WorkerMetrics): WorkerMetrics =>
  metrics.map((metric) => {
    if (LOWEST_OF_WORKERS.has(metric.name)) return { ...metric, aggregator: "min" };
    if (!isProcessMetric(metric.name)) return metric;
    // The worker label makes every series its own, so "first" passes each through unchanged (the
    // default metrics' own aggregators would average some and omit process_start_time_seconds).
    const worker = String(id);
    const values = metric.values.map((value) => ({ ...value, labels: { ...value.labels, worker } }));
    return { ...metric, aggregator: "first", values };
  });

export function createWorkerMetricsAggregator(): WorkerMetricsAggregator {
  const last = new Map<number, { generation: number; metrics: WorkerMetrics }>();
  let retired: WorkerMetrics[] = [];
  return {
    async aggregate(rows, counts) {
      for (const row of rows) {
        const previous = last.get(row.id);
        if (previous !== undefined && previous.generation !== row.generation) {
          // The slot's worker was started again: what its predecessor counted stays counted.
          retired.push(counting(previous.metrics));
          last.delete(row.id);
        }
        if (row.metrics !== null) last.set(row.id, { generation: row.generation, metrics: row.metrics });
      }
      if (retired.length > RETIRED_KEPT) {
        retired = [(await AggregatorRegistry.aggregate(retired).getMetricsAsJSON()) as WorkerMetrics];
      }
      const live = [...last].map(([id, entry]) => withAggregators(id, entry.metrics));
      const summed: Registry = AggregatorRegistry.aggregate([...live, ...retired]);
      const own = supervisorRegistry(rows, counts);
      return Registry.merge([summed, own]).metrics();
    },
  };
}

function supervisorRegistry(rows: readonly WorkerMetricsRow[], counts: WorkerCounts): Registry {
  const own = new Registry();
  const workers = new Gauge({
    name: "portcullis_workers",
    help: "serve --workers: workers by state (configured: asked for; listening: alive and serving; ready: keys loaded and not draining; answered: answered this scrape).",
    labelNames: ["state"] as const,
    registers: [own],
  });
  workers.set({ state: "configured" }, counts.configured);
  workers.set({ state: "listening" }, counts.listening);
  workers.set({ state: "ready" }, counts.ready);
  workers.set({ state: "answered" }, rows.filter((row) => row.metrics !== null).length);
  new Counter({
    name: "portcullis_worker_restarts_total",
    help: "serve --workers: workers started again after exiting unasked.",
    registers: [own],
  }).inc(counts.restarts);
  const perWorkerChecks = new Gauge({
    name: "portcullis_worker_checks",
    help: "serve --workers: checks answered by each worker since it started (portcullis_checks_total by worker id; restarts from 0 with the worker).",
    labelNames: ["worker"] as const,
    registers: [own],
  });
  for (const row of rows) {
    if (row.metrics === null) continue;
    const checks = row.metrics.find((metric) => metric.name === "portcullis_checks_total");
    const total = (checks?.values ?? []).reduce((sum, value) => sum + value.value, 0);
    perWorkerChecks.set({ worker: String(row.id) }, total);
  }
  return own;
}
