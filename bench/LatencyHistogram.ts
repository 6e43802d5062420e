// Fixed-size latency histogram for the load generators: 1 µs buckets below 1.024 ms, then 128
// buckets per power of two (< 0.8 % relative error). Memory stays bounded however long the run.
const LINEAR = 1024;
const SUB_BUCKETS = 128;
const MAX_EXPONENT = 40; // 2^40 µs ≈ 12 days: anything longer lands in the last bucket

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export class LatencyHistogram {
  readonly #counts = new Float64Array(LINEAR + (MAX_EXPONENT - 10 + 1) * SUB_BUCKETS);
  #count = 0;
  #sumUs = 0;
  #maxUs = 0;

  recordMs(ms: number): void {
    const us = Math.max(0, ms * 1000);
    this.#count += 1;
    this.#sumUs += us;
    if (us > this.#maxUs) this.#maxUs = us;
    this.#counts[LatencyHistogram.#indexOf(us)]! += 1;
  }

  get count(): number {
    return this.#count;
  }

  /** The latency (ms) at or below which `p` percent of the recorded values fall (bucket upper edge). */
  percentileMs(p: number): number {
    if (this.#count === 0) return 0;
    const target = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i += 1) {
      seen += this.#counts[i]!;
      if (seen >= target) return Math.min(LatencyHistogram.#upperEdgeUs(i), this.#maxUs) / 1000;
    }
    return this.#maxUs / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.#count,
      meanMs: this.#count === 0 ? 0 : this.#sumUs / this.#count / 1000,
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: this.#maxUs / 1000,
    };
  }

  static #indexOf(us: number): number {
    const v = Math.floor(us);
    if (v < LINEAR) return v;
    const exponent = Math.min(Math.floor(Math.log2(v)), MAX_EXPONENT);
    const sub = Math.min(SUB_BUCKETS - 1, Math.floor((v / 2 ** exponent - 1) * SUB_BUCKETS));
    return LINEAR + (exponent - 10) * SUB_BUCKETS + sub;
  }

  static #upperEdgeUs(index: number): number {
    if (index < LINEAR) return index + 1;
    const exponent = 10 + Math.floor((index - LINEAR) / SUB_BUCKETS);
    const sub = (index - LINEAR) % SUB_BUCKETS;
    return 2 ** exponent * (1 + (sub + 1) / SUB_BUCKETS);
  }
}
