// The benchmark's capped memory run is the Helm chart's heap: --heap-cap defaults to the chart's
// --max-old-space-size, and the run adds the chart's other node flags (its young generation).
import { describe, expect, it } from "vitest";
import { chartNodeOptions, chartYoungGenerationFlags } from "../../bench/chartNodeOptions.ts";
import { parseBenchArgs } from "../../bench/parseBenchArgs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("the benchmark's capped memory run", () => {
  it("defaults --heap-cap to the chart's --max-old-space-size", () => {
    const cap = chartNodeOptions(ROOT).find((flag) => flag.startsWith("--max-old-space-size="));
    expect(cap).toBeDefined();
    expect(parseBenchArgs([]).heapCapMb).toBe(Number(cap!.split("=")[1]));
  });

  it("adds the chart's young generation and leaves the old-space cap to --heap-cap", () => {
    const flags = chartYoungGenerationFlags(ROOT);
    expect(flags.some((flag) => flag.startsWith("--max-semi-space-size="))).toBe(true);
    expect(flags.some((flag) => flag.startsWith("--max-old-space-size="))).toBe(false);
  });
});
