// bench/README.md's results table is generated from the committed results file: this fails when
// someone edits the table by hand or commits a results file without regenerating the table
// (fix: node bench/writeBenchTable.ts).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { BenchReport } from "../../bench/BenchReport.ts";
import { renderBenchTable, replaceBenchTable, TABLE_END, TABLE_START } from "../../bench/renderBenchTable.ts";

const readme = readFileSync(new URL("../../bench/README.md", import.meta.url), "utf8");
const report = JSON.parse(
  readFileSync(new URL("../../bench/results/latest.json", import.meta.url), "utf8"),
) as BenchReport;

describe("bench/README.md results table", () => {
  it("is exactly what bench/writeBenchTable.ts renders from bench/results/latest.json", () => {
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    expect(readme.slice(start, end + TABLE_END.length)).toBe(renderBenchTable(report));
  });

  it("quotes every req/s figure of the results file's Envoy rows", () => {
    const table = renderBenchTable(report);
    for (const row of [report.throughput.noAuth, report.throughput.portcullis, report.throughput.noopGoExtAuthz])
      if (row) expect(table).toContain(new Intl.NumberFormat("en-US").format(Math.round(row.requestsPerSecond)));
  });

  it("replaces only the generated block of the README", () => {
    const page = `# title\n\nbefore\n${TABLE_START}\nold\n${TABLE_END}\nafter\n`;
    expect(replaceBenchTable(page, `${TABLE_START}\nnew\n${TABLE_END}`)).toBe(
      `# title\n\nbefore\n${TABLE_START}\nnew\n${TABLE_END}\nafter\n`,
    );
    expect(() => replaceBenchTable("# no markers\n", "x")).toThrow(/no .* block/);
  });
});
