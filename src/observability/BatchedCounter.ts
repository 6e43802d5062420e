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
  // Bounded by the label sets the caller binds (route names from config, closed sets of reasons).
  readonly #children: PendingChild<L>[] = [];

  constructor(config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) {
    this.#counter = new Counter<L>({ ...config, collect: () => this.#flush() });
  }

  /** A child bound to `labels`; its series appears on the first scrape after its first inc(). */
  child(labels: Partial<Record<L, string>>): CounterChild {
    const child: PendingChild<L> = {
      labels,
      pending: 0,
      inc() {
        this.pending += 1;
      },
    };
    this.#children.push(child);
    return child;
  }

  /** Adds at once (off the hot path: start-up zeros, rare events). */
  inc(labels: Partial<Record<L, string>>, value = 1): void {
    this.#counter.inc(labels, value);
  }

  #flush(): void {
    for (const child of this.#children) {
      if (child.pending === 0) continue;
      const pending = child.pending;
      child.pending = 0;
      this.#counter.inc(child.labels, pending);
    }
  }
}
