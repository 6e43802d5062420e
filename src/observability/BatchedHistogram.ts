// A Prometheus histogram for the Check path: a child per label set keeps its bucket counts, sum and
// count in one Float64Array, so an observation is a bucket search and three additions, with nothing
// allocated (prom-client's observe builds label objects and a hash string per call). It registers
// in a prom-client Registry and exports what a prom-client Histogram exports: the same series,
// label order (le first), cumulative buckets, +Inf, _sum and _count, and a sum aggregator.
import type { Metric, Registry } from "prom-client";

export interface HistogramChild {
  observe(value: number): void;
}

interface Child<L extends string> {
  readonly labels: Partial<Record<L, string>>;
  /** Per bucket (upper bounds in order), then the sum, then the count. */
  readonly state: Float64Array;
}

interface MetricValue {
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly value: number;
  readonly metricName: string;
}

export class BatchedHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly labelNames: readonly L[];
  readonly #bounds: readonly number[];
  // One child per label set, however often it is asked for (every config generation binds its
  // own): bounded by the closed set the caller binds (allow, deny).
  readonly #children = new Map<string, Child<L>>();
  readonly #handles = new Map<string, HistogramChild>();

  constructor(config: {
    name: string;
    help: string;
    labelNames: readonly L[];
    buckets: readonly number[];
    registers: Registry[];
  }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.#bounds = [...config.buckets].sort((a, b) => a - b);
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The child bound to `labels`; its series appear once it has observed something. */
  child(labels: Partial<Record<L, string>>): HistogramChild {
    const key = JSON.stringify(this.labelNames.map((name) => labels[name] ?? null));
    const existing = this.#handles.get(key);
    if (existing !== undefined) return existing;
    const bounds = this.#bounds;
    const state = new Float64Array(bounds.length + 2);
    this.#children.set(key, { labels, state });
    const sum = bounds.length;
    const count = bounds.length + 1;
    const handle: HistogramChild = {
      observe(value: number) {
        if (!Number.isFinite(value)) throw new TypeError("histogram value is not a finite number");
        // `le`: the first bound at or above the value; above the last, only +Inf (the count) has it.
        for (let i = 0; i < sum; i++) {
          if (value <= bounds[i]!) {
            state[i]! += 1;
            break;
          }
        }
        state[sum]! += value;
        state[count]! += 1;
      },
    };
    this.#handles.set(key, handle);
    return handle;
  }

  /** What a Registry reads on a scrape (prom-client's metric shape, labels already merged). */
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    const bounds = this.#bounds;
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, state } of this.#children.values()) {
      const count = state[bounds.length + 1]!;
      if (count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += state[i]!;
        values.push({ labels: { le: bounds[i]!, ...labels }, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { le: "+Inf", ...labels }, value: count, metricName: bucket });
      values.push({ labels: { ...labels }, value: state[bounds.length]!, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    for (const child of this.#children.values()) child.state.fill(0);
  }
}
