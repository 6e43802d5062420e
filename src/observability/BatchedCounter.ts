// A prom-client counter for the Check path: a child per label set counts in a plain number, and the
// counts are added to the counter when it is read (a scrape), so a check costs an addition instead of
// prom-client's per-call label hashing and objects. Same name, help, labels and values on a scrape.
import { Counter, type Registry } from "prom-client";

export interface CounterChild {
  inc(): void;
}

interface PendingChild<L extends string> extends CounterChild {
  readonly labels: Partial<Record<L, string>>;
  pending: number;
}

export class BatchedCounter<L extends string> {
  readonly #counter: Counter<L>;
  readonly #labelNames: readonly L[];
  // One child per label set, however often it is asked for (every config generation binds its
  // own): bounded by route names from config and closed sets of decisions, reasons and results.
  readonly #children = new Map<string, PendingChild<L>>();

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) {
    this.#labelNames = config.labelNames;
    this.#counter = new Counter<L>({ ...config, collect: () => this.#flush() });
  }

  /** The child bound to `labels`; its series appears on the first scrape after its first inc(). */
  child(labels: Partial<Record<L, string>>): CounterChild {
    const key = JSON.stringify(this.#labelNames.map((name) => labels[name] ?? null));
    const existing = this.#children.get(key);
    if (existing !== undefined) return existing;
    const child: PendingChild<L> = {
      labels,
      pending: 0,
      inc() {
        this.pending += 1;
      },
    };
    this.#children.set(key, child);
    return child;
  }

  /** Adds at once (off the hot path: start-up zeros, rare events). */
  inc(labels: Partial<Record<L, string>>, value = 1): void {
    this.#counter.inc(labels, value);
  }

  #flush(): void {
    for (const child of this.#children.values()) {
      if (child.pending === 0) continue;
      const pending = child.pending;
      child.pending = 0;
      this.#counter.inc(child.labels, pending);
    }
  }
}
