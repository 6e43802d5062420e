// Throughput of `serve --workers 1` against `--workers 2` on direct Check (no Envoy): two serve
// processes of this tree with the same bearer-only config (--transport, default net) and a cached RS256 token,
// rounds alternating (1, 2, 2, 1…). The load is h2load (nghttp2, C; Debian: apt-get install -y
// nghttp2-client, or H2LOAD_BIN) over --connections HTTP/2 connections with --streams calls in flight
// each, posting one pre-encoded gRPC CheckRequest: a generator far cheaper per call than a Node one,
// so on a 2-core machine it takes as little as possible of the cores the workers need. Reports per
// round calls/s, the servers' CPU (supervisor and workers, /proc) and the generator's, the checks each
// worker answered, and at the end the median calls/s ratio 2 ÷ 1 workers.
// --envoy then puts the 2-worker server behind one Envoy (bench/workerScalingEnvoy.ts): Envoy's
// default HTTP/2 pool against a max_concurrent_streams cap, and the checks each worker answered.
// Run: node --disable-warning=ExperimentalWarning bench/workerScaling.ts [--rounds 4] [--duration 5]
//      [--connections 16] [--streams 8] [--transport net|http2] [--envoy]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_LOADER_OPTIONS } from "../src/transport/loadProtos.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { waitForHttp200 } from "./fetchText.ts";
import { readProcessCpuSeconds } from "./readProcessCpuSeconds.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { measureThroughEnvoy } from "./workerScalingEnvoy.ts";

const arg = (name: string, fallback: number): number =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback;
const rounds = arg("--rounds", 4);
const duration = arg("--duration", 5);
const connections = arg("--connections", 16);
const streams = arg("--streams", 8);
const transport = process.argv.includes("--transport") ? process.argv[process.argv.indexOf("--transport") + 1] : "net";
if (transport !== "net" && transport !== "http2") throw new Error(`--transport: net or http2, not ${transport}`);
const here = fileURLToPath(new URL("..", import.meta.url));
const h2load = process.env["H2LOAD_BIN"] ?? "h2load";
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Served {
  readonly workers: number;
  readonly pid: number;
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly rps: number[];
  readonly serverCpuPerCall: number[];
  readonly serverCores: number[];
}

/** The serve process and its workers (children), for their CPU. */
function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    return [pid, ...children.map(Number)];
  } catch {
    return [pid];
  }
}

function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + (readProcessCpuSeconds(p) ?? 0), 0);
}

function renderConfig(issuer: string): string {
  return JSON.stringify({
    listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0", grpcTransport: transport },
    providers: { bench: { issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true } },
    routes: [{ name: "bench", match: { path: "/" }, auth: "required", providers: ["bench"] }],
    log: { level: "info" },
  });
}

async function startServe(group: ChildProcessGroup, config: string, workers: number): Promise<Served> {
  const child = group.spawn(
    `serve-${workers}`,
    process.execPath,
    ["--disable-warning=ExperimentalWarning", join(here, "src/cli/main.ts"), "serve", "--config", config],
    { cwd: here, role: "server", env: { ...process.env, PORTCULLIS_WORKERS: String(workers) } },
  );
  const ready = await child.waitForLine((line) => {
    if (!line.includes('"portcullis ready"')) return undefined;
    return JSON.parse(line) as { grpcPort: number; adminPort: number };
  }, 60_000);
  await waitForHttp200(`http://127.0.0.1:${ready.adminPort}/readyz`, 30_000);
  const pid = child.process.pid ?? -1;
  return { workers, pid, ...ready, rps: [], serverCpuPerCall: [], serverCores: [] };
}

/** h2load's run: calls that got a 2xx, calls/s, and its own CPU seconds (bash's `times` for its child). */
async function runH2load(port: number, body: string): Promise<{ succeeded: number; rps: number; cpu: number }> {
  const url = `http://127.0.0.1:${port}/envoy.service.auth.v3.Authorization/Check`;
  const args = [
    ...["-c", String(connections), "-m", String(streams), "-D", String(duration), "--warm-up-time", "1"],
    ...["-d", body, "-H", "content-type: application/grpc", "-H", "te: trailers", url],
  ];
  const child = spawn("bash", ["-c", '"$0" "$@" && times', h2load, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const done = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const rate = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out);
  const times = [...out.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (code !== 0 || done === null || rate === null || done[2] !== "0" || done[3] !== "0") {
    throw new Error(`h2load failed (exit ${code}):\n${out}`);
  }
  // `times`: the shell's own user and system time, then its children's (h2load's).
  return { succeeded: Number(done[1]), rps: Number(rate[1]), cpu: (times[2] ?? 0) + (times[3] ?? 0) };
}

async function metricsText(s: Served): Promise<string> {
  return (await fetch(`http://127.0.0.1:${s.adminPort}/metrics`)).text();
}

function allowed(text: string): number {
  let sum = 0;
  for (const m of text.matchAll(/^portcullis_checks_total\{([^}]*)\} (\S+)$/gm)) {
    if (m[1]?.includes('decision="allow"')) sum += Number(m[2]);
  }
  return sum;
}

function perWorker(text: string): string {
  const rows = [...text.matchAll(/^portcullis_worker_checks\{worker="(\d+)"\} (\S+)$/gm)];
  return rows.length === 0 ? "one process" : rows.map((m) => `worker ${m[1]}: ${m[2]}`).join(", ");
}

async function round(s: Served, body: string, r: number): Promise<void> {
  const [cpuBefore, allowedBefore] = [treeCpuSeconds(s.pid), allowed(await metricsText(s))];
  const load = await runH2load(s.grpcPort, body);
  const cpu = treeCpuSeconds(s.pid) - cpuBefore;
  const text = await metricsText(s);
  const served = allowed(text) - allowedBefore;
  // h2load counts HTTP 200s; every gRPC answer is one, so Portcullis's own allow count is the check.
  if (served < load.succeeded) throw new Error(`${s.workers} workers: ${served} allowed, h2load saw ${load.succeeded}`);
  s.rps.push(load.rps);
  s.serverCpuPerCall.push((cpu / served) * 1e6);
  const wall = duration + 1;
  s.serverCores.push(cpu / wall);
  console.log(
    `round ${r + 1}, --workers ${s.workers}: ${Math.round(load.rps)} calls/s, server ${((cpu / served) * 1e6).toFixed(1)} µs CPU per call (${(cpu / wall).toFixed(2)} cores), h2load ${(load.cpu / wall).toFixed(2)} cores; ${perWorker(text)}`,
  );
}

const loadAtStart = loadavg()
  .map((x) => x.toFixed(1))
  .join(" ");
const group = new ChildProcessGroup();
const dir = mkdtempSync(join(tmpdir(), "portcullis-workers-"));
const jwks = await startJwksServer();
try {
  const identity = await createBenchIdentity(jwks.issuer, "bench-api");
  jwks.setJwks(identity.jwks);
  const config = join(dir, "config.yaml");
  writeFileSync(config, renderConfig(jwks.issuer), { mode: 0o600 });
  const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
  const check = (
    definition["envoy.service.auth.v3.Authorization"] as Record<string, { requestSerialize(o: object): Buffer }>
  )["Check"]!;
  const message = check.requestSerialize(buildCheckRequest(identity.token, "bench.example.com", "/bench"));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  const body = join(dir, "check.bin");
  writeFileSync(body, frame);
  const servers = [await startServe(group, config, 1), await startServe(group, config, 2)];
  console.log(`h2load: ${connections} connections × ${streams} calls in flight, ${duration} s + 1 s warm-up per round`);
  for (let r = 0; r < rounds; r++)
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) await round(s, body, r);
  const [one, two] = servers as [Served, Served];
  for (const s of servers) {
    console.log(
      `--workers ${s.workers}: median ${Math.round(median(s.rps))} calls/s, ${median(s.serverCpuPerCall).toFixed(1)} µs server CPU per call, ${median(s.serverCores).toFixed(2)} cores`,
    );
  }
  // On a shared machine the workers get what the other work leaves: calls/s follows the cores they
  // were granted, and the CPU per call says whether a second worker costs anything per call.
  const cpuRatio = median(two.serverCpuPerCall) / median(one.serverCpuPerCall);
  console.log(
    `server CPU per call, 2 workers ÷ 1: ${cpuRatio.toFixed(2)}×; cores used, 2 workers ÷ 1: ${(median(two.serverCores) / median(one.serverCores)).toFixed(2)}×; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")} at the end (${loadAtStart} at the start)`,
  );
  const paired = median(two.rps.map((x, i) => x / (one.rps[i] ?? NaN)));
  console.log(
    `calls/s, 2 workers ÷ 1: ${(median(two.rps) / median(one.rps)).toFixed(2)}× (median of the rounds' own ratios ${paired.toFixed(2)}×)`,
  );
  if (process.argv.includes("--envoy")) {
    const envoyInput = { root: here, workDir: dir, grpcPort: two.grpcPort, adminPort: two.adminPort };
    await measureThroughEnvoy(group, {
      ...envoyInput,
      ...{ token: identity.token, issuer: jwks.issuer, jwks: identity.jwks },
      ...{ rounds: 2, duration, connections: 16, streamsPerConnection: 4 },
    });
  }
} finally {
  await group.stopAll();
  await jwks.close();
  rmSync(dir, { recursive: true, force: true });
}
