// One scrape for every `serve --workers` worker: each worker's registry (as JSON over IPC) summed by
// prom-client's aggregator (counters and histograms add up; a gauge that says whether something is
// up or ready takes the lowest worker's value, so one worker without keys reads 0), plus the
// supervisor's own series: workers by state, restarts, and checks answered per worker (to see that
// the kernel spreads connections).
import { AggregatorRegistry, Counter, Gauge, Registry } from "prom-client";
import type { WorkerMetrics } from "./workerMessages.ts";

/** Gauges whose sum would mislead: read the worst worker's value. */
const LOWEST_OF_WORKERS = new Set([
  "portcullis_provider_ready",
  "portcullis_redis_up",
  "portcullis_config_last_reload_success_timestamp_seconds",
]);

export interface WorkerCounts {
  readonly configured: number;
  readonly listening: number;
  readonly ready: number;
  readonly restarts: number;
}

export function aggregateWorkerMetrics(
  perWorker: ReadonlyArray<{ readonly id: number; readonly metrics: WorkerMetrics | null }>,
  counts: WorkerCounts,
): { metrics(): Promise<string> } {
  const answered = perWorker.filter((w): w is { id: number; metrics: WorkerMetrics } => w.metrics !== null);
  const arrays = answered.map((w) =>
    w.metrics.map((metric) => (LOWEST_OF_WORKERS.has(metric.name) ? { ...metric, aggregator: "min" } : metric)),
  );
  const summed: Registry = AggregatorRegistry.aggregate(arrays);
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
  workers.set({ state: "answered" }, answered.length);
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
  for (const w of answered) {
    const checks = w.metrics.find((metric) => metric.name === "portcullis_checks_total");
    const total = (checks?.values ?? []).reduce((sum, value) => sum + value.value, 0);
    perWorkerChecks.set({ worker: String(w.id) }, total);
  }
  return Registry.merge([summed, own]);
}
