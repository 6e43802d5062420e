// bench/README.md's results table is generated from the committed results file: this fails when
// someone edits the table by hand or commits a results file without regenerating the table
// (fix: node bench/writeBenchTable.ts).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildReport, type BenchReport } from "../../bench/BenchReport.ts";
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

  it("gives the mTLS route its row and its ratios to plaintext Portcullis, with the handshakes Envoy counted", () => {
    const { ratios: _ratios, targets: _targets, ...measured } = report;
    const plain = report.throughput.portcullis!;
    const plainRate = report.fixedRate.portcullis!;
    const table = renderBenchTable(
      buildReport({
        ...measured,
        throughput: {
          ...measured.throughput,
          portcullisMtls: { ...plain, requestsPerSecond: 4321, cpuUsPerRequest: { envoy: 150, portcullis: 40 } },
        },
        fixedRate: {
          ...measured.fixedRate,
          portcullisMtls: {
            ...plainRate,
            responseTime: {
              ...plainRate.responseTime,
              p50Ms: 2.25,
              p99Ms: plainRate.responseTime.p99Ms + 0.5,
              p999Ms: 17.75,
            },
          },
        },
        portcullisMtlsConnections: { handshakes: 1, connectionErrors: 0, connections: 1, requests: 123456 },
      }),
    );
    const row = table
      .split("\n")
      .find((line) => line.startsWith("| ext_authz → Portcullis over mTLS (cached bearer token) |"));
    expect(row).toBe(
      `| ext_authz → Portcullis over mTLS (cached bearer token) | 4,321 | 150 + 40 µs | 2.3 / ${(plainRate.responseTime.p99Ms + 0.5).toFixed(1)} / 17.8 ms |`,
    );
    const line = table.split("\n").find((l) => l.startsWith("| over mTLS against plaintext"));
    const cpuRatio = (150 + 40) / (plain.cpuUsPerRequest["envoy"]! + plain.cpuUsPerRequest["portcullis"]!);
    expect(line).toContain(`req/s ${(4321 / plain.requestsPerSecond).toFixed(2)}×`);
    expect(line).toContain(`CPU per request ${cpuRatio.toFixed(2)}×`);
    expect(line).toContain("p99 at 1,000 req/s +0.5 ms");
    expect(line).toContain("Envoy's TLS handshakes with it over the run: 1, for 123,456 Check calls");
  });

  it("leaves the mTLS row out of a results file written before that route was measured", () => {
    const { portcullisMtls: _absent, ...older } = report.throughput;
    const table = renderBenchTable({ ...report, throughput: older, ratios: { ...report.ratios, mtls: undefined } });
    expect(table).not.toContain("over mTLS");
  });

  it("replaces only the generated block of the README", () => {
    const page = `# title\n\nbefore\n${TABLE_START}\nold\n${TABLE_END}\nafter\n`;
    expect(replaceBenchTable(page, `${TABLE_START}\nnew\n${TABLE_END}`)).toBe(
      `# title\n\nbefore\n${TABLE_START}\nnew\n${TABLE_END}\nafter\n`,
    );
    expect(() => replaceBenchTable("# no markers\n", "x")).toThrow(/no .* block/);
  });
});
