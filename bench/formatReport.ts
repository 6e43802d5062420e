// Renders a BenchReport as the plain-text table the bench prints: one row per scenario, then the
// ratios against the baselines and each target with PASS/FAIL (or n/a when a scenario is missing).
import type { BenchReport } from "./BenchReport.ts";

const cpuText = (cpu: Record<string, number | null> | undefined) =>
  cpu
    ? Object.entries(cpu)
        .map(([name, us]) => `${name} ${num(us, 0)}`)
        .join(" + ")
    : "n/a";
const num = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined ? "n/a" : v.toFixed(digits);

const eld = (d: { p99Ms: number; maxMs: number } | null | undefined) =>
  d ? `${num(d.p99Ms, 1)} ms (${num(d.maxMs, 1)} ms)` : "n/a";

function memoryLine(m: BenchReport["memory"]): string {
  if (!m) return "memory and cold start: n/a";
  return (
    `fresh Portcullis${m.heapCapMb === null ? "" : ` (heap capped at ${m.heapCapMb} MB)`}: cold start ${num(m.coldStartMs, 0)} ms, RSS ${num(m.rssAtReadyMb, 0)} MB at ready, ` +
    `${num(m.rssAfterLoadMb, 0)} MB after ${m.valid.calls} valid + ${m.invalid.calls} invalid tokens ` +
    `(server CPU ${num(m.valid.serverCpuUsPerCall, 0)} / ${num(m.invalid.serverCpuUsPerCall, 0)} µs per call), ` +
    `${num(m.rssAfterIdleMb, 0)} MB after ${m.idleSeconds} s idle`
  );
}

/** The mTLS route against the plaintext one, and how many handshakes its Check calls rode on. */
function mtlsLine(report: BenchReport): string {
  const m = report.ratios.mtls;
  const c = report.portcullisMtlsConnections;
  const connections = c
    ? `; Envoy → Portcullis over the run: TLS handshakes ${c.handshakes} (errors ${c.connectionErrors}), connections ${c.connections}, Check calls ${c.requests}`
    : "";
  return (
    `  mTLS / plaintext (both through Portcullis): throughput ${num(m?.throughputVsPlaintext, 3)}, CPU per request ` +
    `${num(m?.cpuVsPlaintext, 2)} (envoy ${num(m?.envoyCpuVsPlaintext, 2)}, portcullis ${num(m?.portcullisCpuVsPlaintext, 2)}; ` +
    `+${num(m?.addedCpuUsPerRequest, 0)} µs), p99 added at ${report.options.rate}/s ${num(m?.addedP99Ms, 3)} ms${connections}`
  );
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "))
    .join("\n");
}

export function formatReport(report: BenchReport): string {
  const { throughput: t, fixedRate: f, check: c, options: o } = report;
  const rows: string[][] = [["scenario", "load", "req/s", "p50 ms", "p99 ms (/ p99.9)", "bad", "CPU µs/req"]];
  const wrkRow = (name: string, r: typeof t.noAuth) =>
    rows.push([
      name,
      `wrk c=${o.connections}`,
      num(r?.requestsPerSecond, 0),
      num(r?.p50Ms, 3),
      num(r?.p99Ms, 3),
      r ? String(r.non2xx + r.socketErrors) : "n/a",
      cpuText(r?.cpuUsPerRequest),
    ]);
  const rateRow = (name: string, r: typeof f.noAuth, rate = o.rate) =>
    rows.push([
      name,
      `fixed ${rate}/s`,
      num(r?.achievedRate, 0),
      num(r?.responseTime.p50Ms, 3),
      `${num(r?.responseTime.p99Ms, 3)} / ${num(r?.responseTime.p999Ms, 3)}`,
      r ? String(r.non2xx + r.errors) : "n/a",
      cpuText(r?.cpuUsPerRequest),
    ]);
  const checkRow = (name: string, r: typeof c.noopFloor) =>
    rows.push([
      name,
      `gRPC ${o.connections} in flight`,
      num(r?.requestsPerSecond, 0),
      num(r?.latency.p50Ms, 3),
      num(r?.latency.p99Ms, 3),
      r ? String(r.notOk + r.errors) : "n/a",
      r ? `server ${num(r.serverCpuUsPerCall, 0)}` : "n/a",
    ]);
  wrkRow("envoy, no auth", t.noAuth);
  wrkRow("envoy + jwt_authn", t.jwtAuthn);
  wrkRow("envoy + ext_authz no-op grpc-go", t.noopGoExtAuthz);
  wrkRow("envoy + ext_authz no-op grpc-js", t.noopExtAuthz);
  wrkRow("envoy + ext_authz Portcullis", t.portcullis);
  wrkRow("envoy + ext_authz Portcullis over mTLS", t.portcullisMtls ?? null);
  wrkRow("envoy + ext_authz Portcullis (session)", t.portcullisSession);
  wrkRow("envoy + ext_authz oauth2-proxy (HTTP)", t.oauth2Proxy);
  rateRow("envoy, no auth", f.noAuth);
  rateRow("envoy + jwt_authn", f.jwtAuthn);
  rateRow("envoy + ext_authz no-op grpc-go", f.noopGoExtAuthz);
  rateRow("envoy + ext_authz no-op grpc-js", f.noopExtAuthz);
  rateRow("envoy + ext_authz Portcullis", f.portcullis);
  rateRow("envoy + ext_authz Portcullis over mTLS", f.portcullisMtls ?? null);
  rateRow("envoy + ext_authz oauth2-proxy (HTTP)", f.oauth2Proxy);
  rateRow(
    "envoy + ext_authz Portcullis (cached, first-seen's rate)",
    report.firstSeen?.cachedSameRate ?? null,
    o.firstSeenRate,
  );
  rateRow("envoy + ext_authz Portcullis (first-seen)", report.firstSeen, o.firstSeenRate);
  rateRow("pinned: envoy + ext_authz no-op grpc-go", report.fixedRatePinned.noopGoExtAuthz);
  rateRow("pinned: envoy + ext_authz Portcullis", report.fixedRatePinned.portcullis);
  checkRow("Check → no-op grpc-go (floor)", c.noopGoFloor);
  checkRow("Check → no-op grpc-js", c.noopFloor);
  checkRow("Check → Portcullis (cached token)", c.portcullis);

  const r = report.ratios;
  const lines = [
    table(rows),
    "",
    `fixed-rate service time p99 (ms, from actual send): no auth ${num(f.noAuth?.serviceTime.p99Ms, 3)}, jwt_authn ${num(f.jwtAuthn?.serviceTime.p99Ms, 3)}, ext_authz no-op ${num(f.noopExtAuthz?.serviceTime.p99Ms, 3)}, Portcullis ${num(f.portcullis?.serviceTime.p99Ms, 3)}`,
    `Portcullis event-loop delay p99 (max) at the fixed rate: cached ${eld(f.portcullis?.eventLoopDelay)}, first-seen ${eld(report.firstSeen?.eventLoopDelay)}`,
    memoryLine(report.memory),
    memoryLine(report.memoryHeapCapped),
    `RSS at ready (MB): ${Object.entries(report.rssAtReadyMb)
      .map(([name, mb]) => `${name} ${num(mb, 0)}`)
      .join(", ")}`,
    ...report.skippedPeers.map((p) => `${p.peer}: ${p.reason}`),
    `Portcullis token cache after the run: ${report.portcullisTokenCache ? `${report.portcullisTokenCache.hits} hits, ${report.portcullisTokenCache.misses} misses` : "n/a"}`,
    `rounds: ${o.rounds}${o.rounds > 1 ? " (each row is that scenario's median round)" : ""}`,
    `machine: ${report.environment["cpus"]} CPUs, 1-min load average ${report.environment["loadAverage1mAtStart"]} at start, ${report.environment["loadAverage1mAtEnd"]} at end`,
    "",
    "ratios:",
    `  throughput  Portcullis / jwt_authn   ${num(r.throughputVsJwtAuthn, 3)}`,
    `  throughput  Portcullis / no auth     ${num(r.throughputVsNoAuth, 3)}`,
    `  throughput  Portcullis / ext_authz no-op ${num(r.throughputVsNoopExtAuthz, 3)}`,
    `  throughput  Portcullis / ext_authz no-op grpc-go ${num(r.throughputVsNoopGo, 3)}`,
    `  Check server CPU per call  Portcullis / no-op grpc-go ${num(r.checkServerCpuVsNoopGo, 2)}`,
    `  p99 added at ${o.rate}/s vs no-op grpc-go ${num(r.addedP99VsNoopGoMs, 3)} ms`,
    `  first-seen token: Portcullis CPU added per check ${num(r.firstSeenAddedCpuUs, 0)} µs`,
    `  Check rate  Portcullis / no-op floor ${num(r.checkVsNoopFloor, 3)}`,
    `  Check server CPU per call  Portcullis / no-op ${num(r.checkServerCpuVsNoopFloor, 2)}`,
    `  CPU added per request at ${o.rate}/s vs jwt_authn ${num(r.addedCpuUsPerRequestVsJwtAuthn, 0)} µs`,
    `  p99 added at ${o.rate}/s vs no auth     ${num(r.addedP99VsNoAuthMs, 3)} ms   (service time: ${num(r.addedServiceP99VsNoAuthMs, 3)} ms)`,
    `  p99 added at ${o.rate}/s vs jwt_authn   ${num(r.addedP99VsJwtAuthnMs, 3)} ms`,
    `  p99 added at ${o.rate}/s vs ext_authz no-op ${num(r.addedP99VsNoopExtAuthzMs, 3)} ms   (service time: ${num(r.addedServiceP99VsNoopExtAuthzMs, 3)} ms)`,
    `  session cookie / bearer token (both through Portcullis): throughput ${num(r.sessionThroughputVsBearer, 3)}, Portcullis CPU per request ${num(r.sessionPortcullisCpuVsBearer, 2)}`,
    mtlsLine(report),
    "",
    "targets:",
    ...report.targets.map(
      (x) =>
        `  ${x.pass === null ? "n/a " : x.pass ? "PASS" : "FAIL"}  ${x.name}: ${num(x.value, 3)} (target ${x.target})`,
    ),
  ];
  if (report.warnings.length > 0) lines.push("", "warnings:", ...report.warnings.map((w) => `  - ${w}`));
  if (report.problems.length > 0) lines.push("", "problems:", ...report.problems.map((p) => `  - ${p}`));
  return `${lines.join("\n")}\n`;
}
