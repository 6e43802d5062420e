// Writes the results table into bench/README.md from bench/results/latest.json (between the
// bench-table markers), so the README shows only what the results file holds.
// Run: node bench/writeBenchTable.ts
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BenchReport } from "./BenchReport.ts";
import { renderBenchTable, replaceBenchTable } from "./renderBenchTable.ts";

const readmePath = fileURLToPath(new URL("./README.md", import.meta.url));
const resultsPath = fileURLToPath(new URL("./results/latest.json", import.meta.url));
const report = JSON.parse(readFileSync(resultsPath, "utf8")) as BenchReport;
writeFileSync(readmePath, replaceBenchTable(readFileSync(readmePath, "utf8"), renderBenchTable(report)));
process.stdout.write("bench/README.md: results table written from bench/results/latest.json\n");
