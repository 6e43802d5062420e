// The supervisor's one scrape over its workers: counters and histograms summed, readiness-like gauges
// at the lowest worker's value, per-worker checks, and counts that never drop when a worker is
// started again or misses a scrape.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { describe, expect, it } from "vitest";
import { createWorkerMetricsAggregator, type WorkerMetricsRow } from "../../src/app/aggregateWorkerMetrics.ts";
import type { WorkerMetrics } from "../../src/app/workerMessages.ts";
import { readMetric } from "../harness/readMetric.ts";

async function workerMetrics(checks: number, ready: 0 | 1, cached: number): Promise<WorkerMetrics> {
  const registry = new Registry();
  const counter = new Counter({
    name: "portcullis_checks_total",
    help: "h",
    labelNames: ["decision"],
    registers: [registry],
  });
  if (checks > 0) counter.inc({ decision: "allow" }, checks);
  new Gauge({ name: "portcullis_provider_ready", help: "h", labelNames: ["provider"], registers: [registry] }).set(
    { provider: "idp" },
    ready,
  );
  new Gauge({ name: "portcullis_token_cache_entries", help: "h", registers: [registry] }).set(cached);
  return registry.getMetricsAsJSON();
}

const counts = { configured: 2, listening: 2, ready: 2, restarts: 0 };
const row = (id: number, generation: number, metrics: WorkerMetrics | null): WorkerMetricsRow => ({
  id,
  generation,
  metrics,
});

describe("createWorkerMetricsAggregator", () => {
  it("sums counters and cache sizes, takes the lowest readiness, and reports each worker's checks", async () => {
    const aggregator = createWorkerMetricsAggregator();
    const text = await aggregator.aggregate(
      [row(1, 1, await workerMetrics(5, 1, 10)), row(2, 1, await workerMetrics(7, 0, 4))],
      counts,
    );
    expect(readMetric(text, "portcullis_checks_total", { decision: "allow" })).toBe(12);
    expect(readMetric(text, "portcullis_token_cache_entries")).toBe(14);
    expect(readMetric(text, "portcullis_provider_ready", { provider: "idp" })).toBe(0);
    expect(readMetric(text, "portcullis_worker_checks", { worker: "1" })).toBe(5);
    expect(readMetric(text, "portcullis_worker_checks", { worker: "2" })).toBe(7);
    expect(readMetric(text, "portcullis_workers", { state: "answered" })).toBe(2);
  });

  it("counts a worker that misses a scrape with its last answer", async () => {
    const aggregator = createWorkerMetricsAggregator();
    await aggregator.aggregate(
      [row(1, 1, await workerMetrics(5, 1, 0)), row(2, 1, await workerMetrics(7, 1, 0))],
      counts,
    );
    const text = await aggregator.aggregate([row(1, 1, await workerMetrics(6, 1, 0)), row(2, 1, null)], counts);
    expect(readMetric(text, "portcullis_checks_total")).toBe(13);
    expect(readMetric(text, "portcullis_workers", { state: "answered" })).toBe(1);
  });

  it("keeps what a worker counted once it is started again, but not its gauges", async () => {
    const aggregator = createWorkerMetricsAggregator();
    await aggregator.aggregate(
      [row(1, 1, await workerMetrics(5, 1, 3)), row(2, 1, await workerMetrics(7, 1, 9))],
      counts,
    );
    // Worker 2 died and its successor (generation 2) has not answered yet, then answers from 0.
    const gap = await aggregator.aggregate([row(1, 1, await workerMetrics(5, 1, 3)), row(2, 2, null)], counts);
    expect(readMetric(gap, "portcullis_checks_total")).toBe(12);
    expect(readMetric(gap, "portcullis_token_cache_entries")).toBe(3);
    const back = await aggregator.aggregate(
      [row(1, 1, await workerMetrics(5, 1, 3)), row(2, 2, await workerMetrics(2, 1, 1))],
      counts,
    );
    expect(readMetric(back, "portcullis_checks_total")).toBe(14);
    expect(readMetric(back, "portcullis_token_cache_entries")).toBe(4);
  });

  it("folds many retired workers into one without losing a count", async () => {
    const aggregator = createWorkerMetricsAggregator();
    let text = "";
    for (let generation = 1; generation <= 12; generation++) {
      text = await aggregator.aggregate([row(1, generation, await workerMetrics(10, 1, 0))], counts);
    }
    expect(readMetric(text, "portcullis_checks_total")).toBe(120);
  });

  it("reports each worker's process_* and nodejs_* series under its worker label, and drops them once it is gone", async () => {
    const processMetrics = async (): Promise<WorkerMetrics> => {
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      return registry.getMetricsAsJSON();
    };
    const aggregator = createWorkerMetricsAggregator();
    const both = await aggregator.aggregate(
      [row(1, 1, await processMetrics()), row(2, 1, await processMetrics())],
      counts,
    );
    for (const worker of ["1", "2"]) {
      expect(both, worker).toMatch(new RegExp(`^process_cpu_seconds_total\\{worker="${worker}"\\} `, "m"));
      expect(readMetric(both, "process_resident_memory_bytes", { worker })).toBeGreaterThan(0);
      expect(readMetric(both, "process_start_time_seconds", { worker })).toBeGreaterThan(0);
      expect(readMetric(both, "nodejs_eventloop_lag_p99_seconds", { worker })).toBeGreaterThanOrEqual(0);
    }
    // Never summed into a series without the label.
    expect(both).not.toMatch(/^process_cpu_seconds_total /m);
    // Worker 2 started again and not answering yet: its predecessor's process series are gone.
    const after = await aggregator.aggregate([row(1, 1, await processMetrics()), row(2, 2, null)], counts);
    expect(readMetric(after, "process_start_time_seconds", { worker: "1" })).toBeGreaterThan(0);
    expect(after).not.toMatch(/^process_[a-z_]+\{[^}]*worker="2"/m);
  });
});
