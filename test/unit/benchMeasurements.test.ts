// The benchmark's own measuring parts: what it reports is only as good as these.
import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../bench/LatencyHistogram.ts";
import { parseWrkOutput } from "../../bench/parseWrkOutput.ts";

const WRK = `Running 5s test @ http://127.0.0.1:10000/api/x
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.31ms  512.00us  12.40ms   90.12%
    Req/Sec     7.01k   301.22     7.50k    80.00%
  Latency Distribution
     50%    2.17ms
     75%    2.50ms
     90%    2.90ms
     99%  850.00us
  35012 requests in 5.00s, 4.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   7002.40
Transfer/sec:    821.12KB
`;

describe("parseWrkOutput", () => {
  it("reads requests/s, totals and percentiles, converting wrk's units to milliseconds", () => {
    const r = parseWrkOutput(WRK);
    expect(r).toEqual({
      requestsPerSecond: 7002.4,
      requests: 35012,
      p50Ms: 2.17,
      p90Ms: 2.9,
      p99Ms: 0.85,
      non2xx: 7,
      socketErrors: 3,
    });
  });

  it("refuses output without the latency distribution rather than reporting zeros", () => {
    expect(() => parseWrkOutput(WRK.replace(/^\s+99%.*$/m, ""))).toThrow(/99% latency/);
  });
});

describe("LatencyHistogram", () => {
  it("reports percentiles within 1% of the exact values", () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.recordMs(i / 100); // 0.01 ms .. 100 ms, uniform
    const s = h.summary();
    expect(s.count).toBe(10_000);
    expect(s.p50Ms).toBeGreaterThanOrEqual(50 * 0.99);
    expect(s.p50Ms).toBeLessThanOrEqual(50 * 1.01);
    expect(s.p99Ms).toBeGreaterThanOrEqual(99 * 0.99);
    expect(s.p99Ms).toBeLessThanOrEqual(99 * 1.01);
    expect(s.maxMs).toBe(100);
  });

  it("is exact to the microsecond below one millisecond", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 99; i++) h.recordMs(0.2);
    h.recordMs(0.7);
    expect(h.percentileMs(50)).toBeCloseTo(0.201, 6);
    expect(h.percentileMs(100)).toBeCloseTo(0.7, 6);
  });
});
