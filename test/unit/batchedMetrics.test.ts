// The Check path's metric families count into plain numbers read at scrape time; a scrape must show
// exactly what prom-client's own Counter and Histogram show for the same checks.
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BatchedCounter } from "../../src/observability/BatchedCounter.ts";
import { BatchedHistogram } from "../../src/observability/BatchedHistogram.ts";

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const OBSERVED = [0.00002, 0.00005, 0.00007, 0.0003, 0.0031, 0.2, 1, 1.5, 3, 0.00004];

function families() {
  const reference = new Registry();
  const batched = new Registry();
  const common = { name: "t_checks_total", help: "Checks.", labelNames: ["decision", "reason", "route"] as const };
  const durations = {
    name: "t_check_duration_seconds",
    help: "Durations.",
    labelNames: ["decision"] as const,
    buckets: BUCKETS,
  };
  return {
    reference,
    batched,
    counter: new Counter({ ...common, registers: [reference] }),
    batchedCounter: new BatchedCounter({ ...common, registers: [batched] }),
    histogram: new Histogram({ ...durations, registers: [reference] }),
    batchedHistogram: new BatchedHistogram({ ...durations, registers: [batched] }),
  };
}

describe("batched Check metrics", () => {
  it("scrape to the same text as prom-client's Counter and Histogram for the same checks", async () => {
    const f = families();
    const allow = { decision: "allow", reason: "authenticated", route: "api" };
    const deny = { decision: "deny", reason: "token_missing", route: "(none)" };
    const allowChild = f.batchedCounter.child(allow);
    const denyChild = f.batchedCounter.child(deny);
    const allowDuration = f.batchedHistogram.child({ decision: "allow" });
    f.batchedHistogram.child({ decision: "deny" }); // bound, never observed: no series, as with prom-client
    for (const seconds of OBSERVED) {
      f.counter.inc(allow);
      allowChild.inc();
      f.histogram.observe({ decision: "allow" }, seconds);
      allowDuration.observe(seconds);
    }
    f.counter.inc(deny);
    denyChild.inc();
    expect(await f.batched.metrics()).toBe(await f.reference.metrics());
    // Counts go on between scrapes and are added, never lost or counted twice.
    allowChild.inc();
    f.counter.inc(allow);
    expect(await f.batched.metrics()).toBe(await f.reference.metrics());
  });

  it("give the cluster aggregator the same values as prom-client", async () => {
    const f = families();
    const child = f.batchedHistogram.child({ decision: "deny" });
    for (const seconds of OBSERVED) {
      child.observe(seconds);
      f.histogram.observe({ decision: "deny" }, seconds);
    }
    const shape = (json: Awaited<ReturnType<Registry["getMetricsAsJSON"]>>) =>
      json.map((m) => ({
        name: m.name,
        type: m.type,
        aggregator: m.aggregator,
        values: m.values.map((v) => ({ ...v, exemplar: undefined })),
      }));
    expect(shape(await f.batched.getMetricsAsJSON())).toEqual(shape(await f.reference.getMetricsAsJSON()));
  });

  it("hand out one child per label set however often it is bound (each config reload binds again), counting into one series", async () => {
    const f = families();
    const labels = { decision: "allow", reason: "authenticated", route: "api" };
    const first = f.batchedCounter.child(labels);
    const again = f.batchedCounter.child({ route: "api", reason: "authenticated", decision: "allow" });
    expect(again).toBe(first);
    expect(f.batchedHistogram.child({ decision: "allow" })).toBe(f.batchedHistogram.child({ decision: "allow" }));
    first.inc();
    again.inc();
    f.counter.inc(labels, 2);
    expect(await f.batched.metrics()).toBe(await f.reference.metrics());
  });

  it("refuse a duration that is not a finite number, like prom-client", () => {
    const child = families().batchedHistogram.child({ decision: "allow" });
    expect(() => child.observe(Number.NaN)).toThrow(TypeError);
  });
});
