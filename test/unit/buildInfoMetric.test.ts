// portcullis_build_info says which build answers a scrape: always 1, labelled as `portcullis --version`
// prints it, and one series (not the number of workers) when `serve --workers` adds workers' registries up.
import { describe, expect, it } from "vitest";
import { createWorkerMetricsAggregator } from "../../src/app/aggregateWorkerMetrics.ts";
import { versionLine } from "../../src/app/versionLine.ts";
import { createMetrics } from "../../src/observability/Metrics.ts";

const SERIES = /^portcullis_build_info\{version="([^"]+)",commit="([^"]+)",node="([^"]+)"\} (\S+)$/m;

describe("portcullis_build_info", () => {
  it("is 1, labelled with the version, commit and Node that --version names", async () => {
    const text = await createMetrics().registry.metrics();
    const found = SERIES.exec(text);
    expect(found).not.toBeNull();
    const [, version, commit, node, value] = found as RegExpExecArray;
    expect(value).toBe("1");
    expect(node).toBe(process.version);
    expect(commit).toMatch(/^([0-9a-f]{7,40}|unknown)$/);
    expect(versionLine()).toBe(`portcullis ${version} (commit ${commit}) node ${node}`);
  });

  it("stays one series at 1 across two workers' registries", async () => {
    const worker = async () => (await createMetrics().registry.getMetricsAsJSON()) as never;
    const text = await createWorkerMetricsAggregator().aggregate(
      [
        { id: 1, generation: 1, metrics: await worker() },
        { id: 2, generation: 1, metrics: await worker() },
      ],
      { configured: 2, listening: 2, ready: 2, restarts: 0 },
    );
    const lines = text.split("\n").filter((line) => line.startsWith("portcullis_build_info{"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\} 1$/);
  });
});
