// Direct Check through the two gRPC transports side by side: two `serve` processes of one tree, the
// same config and cached bearer token, one with grpc-js and one with the node:http2 server
// (listen.grpcTransport: http2), a closed-loop grpc-js client with --connections calls in flight,
// phases alternating (A, B, B, A…). Reports each server's CPU per call (/proc/<pid>/stat) and calls/s.
// --envoy adds the same through one Envoy (one worker, wrk with --connections): Envoy's and the
// server's CPU per request and req/s, each transport behind its own ext_authz listener. --go adds the
// no-op grpc-go server (bench/noopGo) to the direct rounds; --base DIR adds the http2 server of an
// older tree (a checkout with node_modules); --syscalls then counts each server's socket writes per
// call under strace (one phase at 1 call in flight, one at --connections); --cpu-prof-dir DIR writes a
// CPU profile of the http2 server there when it stops.
// Run: node --disable-warning=ExperimentalWarning bench/h2Transport.ts [--root DIR] [--rounds 4] [--duration 5]
//      [--envoy] [--go] [--base DIR] [--syscalls] [--cpu-prof-dir DIR]
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { buildGoPeer, NOOP_GO_SERVER } from "./buildGoPeer.ts";
import type { CheckLoadResult, CheckLoadSpec } from "./checkLoadProcess.ts";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { readProcessCpuSeconds } from "./readProcessCpuSeconds.ts";
import { LISTENER_NAMES, renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { resolveEnvoyBinary } from "./resolveEnvoyBinary.ts";
import { runWrk } from "./runWrk.ts";
import { startEnvoy } from "./startEnvoy.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { countSocketWrites } from "./countSocketWrites.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { startPortcullis } from "./startPortcullis.ts";
import { servedByTransport } from "../test/harness/servedByTransport.ts";

const arg = (name: string): string | undefined =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined;
const here = fileURLToPath(new URL("..", import.meta.url));
const root = resolve(arg("--root") ?? here);
const rounds = Number(arg("--rounds") ?? 4);
const duration = Number(arg("--duration") ?? 5);
const connections = Number(arg("--connections") ?? 16);
const throughEnvoy = process.argv.includes("--envoy");
const withGo = process.argv.includes("--go");
const base = arg("--base");
const withSyscalls = process.argv.includes("--syscalls");
const profileDir = arg("--cpu-prof-dir");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Served {
  readonly name: string;
  readonly server: { readonly pid: number | undefined; readonly grpcPort: number };
}

/** wrk through Envoy to each transport in turn: Envoy's and the server's CPU per request, req/s. */
async function envoyRounds(all: Served[], token: string, issuer: string, jwks: object): Promise<void> {
  const portLine = (line: string) => {
    const m = /^\{"port":(\d+)\}$/.exec(line);
    return m ? Number(m[1]) : undefined;
  };
  const upstream = group.spawn("upstream", process.execPath, [
    "--disable-warning=ExperimentalWarning",
    join(here, "bench/okUpstreamProcess.ts"),
  ]);
  const [grpcJs, http2] = ["grpc-js", "http2"].map((name) => all.find((s) => s.name === name)!) as [Served, Served];
  // The bench's Envoy config has two identical ext_authz listeners: the no-op one is pointed at the http2 server.
  const config = renderEnvoyConfig({
    upstreamPort: await upstream.waitForLine(portLine, 10_000),
    noopCheckGrpcPort: http2.server.grpcPort,
    noopGoCheckGrpcPort: null,
    oauth2ProxyPort: null,
    portcullisGrpcPort: grpcJs.server.grpcPort,
    issuer,
    audience: "bench-api",
    jwks,
  });
  const envoy = await startEnvoy(group, resolveEnvoyBinary(root), workDir, config);
  const listeners = new Map([
    ["grpc-js", LISTENER_NAMES.extAuthz],
    ["http2", LISTENER_NAMES.noopExtAuthz],
  ]);
  const servers = [grpcJs, http2];
  const results = new Map(
    servers.map((s) => [s.name, { envoy: [] as number[], server: [] as number[], rps: [] as number[] }]),
  );
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
      const url = `http://127.0.0.1:${envoy.ports.get(listeners.get(s.name)!)}/bench`;
      const [envoyBefore, serverBefore] = [readProcessCpuSeconds(envoy.pid), readProcessCpuSeconds(s.server.pid)];
      const headers = { authorization: `Bearer ${token}` };
      const wrk = await runWrk(group, "wrk", { url, headers, connections, durationSeconds: duration });
      const [envoyAfter, serverAfter] = [readProcessCpuSeconds(envoy.pid), readProcessCpuSeconds(s.server.pid)];
      if (wrk.non2xx > 0 || wrk.socketErrors > 0) throw new Error(`${s.name} through Envoy: ${JSON.stringify(wrk)}`);
      const row = results.get(s.name)!;
      row.envoy.push((((envoyAfter ?? 0) - (envoyBefore ?? 0)) / wrk.requests) * 1e6);
      row.server.push((((serverAfter ?? 0) - (serverBefore ?? 0)) / wrk.requests) * 1e6);
      row.rps.push(wrk.requestsPerSecond);
      const cpu = `${row.envoy.at(-1)!.toFixed(1)} + ${row.server.at(-1)!.toFixed(1)} µs CPU per request`;
      console.log(
        `envoy round ${r + 1} ${s.name}: ${Math.round(wrk.requestsPerSecond)} req/s, ${cpu}, p99 ${wrk.p99Ms} ms`,
      );
    }
  }
  for (const [name, row] of results) {
    const cpu = `${median(row.envoy).toFixed(1)} + ${median(row.server).toFixed(1)} µs CPU per request (Envoy + server)`;
    console.log(`through Envoy, ${name}: median ${Math.round(median(row.rps))} req/s, ${cpu}`);
  }
  const [a, b] = [results.get("grpc-js")!, results.get("http2")!];
  const paired = median(b.server.map((x, i) => x / a.server[i]!)).toFixed(2);
  console.log(`through Envoy, http2 / grpc-js server CPU per request, median of the rounds' ratios: ${paired}×`);
}

const group = new ChildProcessGroup();
const workDir = mkdtempSync(join(tmpdir(), "portcullis-h2-"));
const jwks = await startJwksServer();

interface Measured extends Served {
  readonly cpuPerCall: number[];
  readonly rps: number[];
}

/** The servers of the run: Portcullis on each transport (and on an older tree's http2), then the Go floor. */
async function startServers(setup: { issuer: string; audience: string; sessionKey: string }): Promise<Measured[]> {
  const servers: Measured[] = [];
  const trees: Array<[string, string, "grpc-js" | "http2" | "net"]> = [
    ["grpc-js", root, "grpc-js"],
    ["http2", root, "http2"],
    ["net", root, "net"],
  ];
  if (base !== undefined) trees.push(["http2 (base)", resolve(base), "http2"]);
  for (const [name, tree, transport] of trees) {
    const dir = mkdtempSync(join(workDir, "s-"));
    const profile = profileDir !== undefined && name === "http2" ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [];
    const server = await startPortcullis(group, tree, dir, { ...setup, grpcTransport: transport }, name, profile);
    const actual = await servedByTransport(server.grpcPort);
    if (actual !== transport) {
      throw new Error(`${transport} asked, ${actual} serves: does this tree know listen.grpcTransport?`);
    }
    servers.push({ name, server, cpuPerCall: [], rps: [] });
  }
  if (withGo) {
    const build = buildGoPeer(here, "noop-check-go", NOOP_GO_SERVER);
    if ("skipped" in build) throw new Error(`--go: ${build.skipped}`);
    const child = group.spawn("noop-check-go", build.bin, [], { role: "server" });
    const portLine = (line: string) => {
      const m = /^\{"port":(\d+)\}$/.exec(line);
      return m ? Number(m[1]) : undefined;
    };
    const server = { pid: child.process.pid, grpcPort: await child.waitForLine(portLine, 10_000) };
    servers.push({ name: "grpc-go (no-op)", server, cpuPerCall: [], rps: [] });
  }
  return servers;
}

/** One closed-loop phase against `s`: the load's result and the server's CPU seconds over it. */
async function loadPhase(s: Served, request: object, concurrency: number, seconds: number) {
  const spec: CheckLoadSpec = {
    target: `127.0.0.1:${s.server.grpcPort}`,
    concurrency,
    warmupSeconds: 1,
    durationSeconds: seconds,
    request,
  };
  const before = readProcessCpuSeconds(s.server.pid);
  const script = join(here, "bench/checkLoadProcess.ts");
  const result = await runJsonChild<CheckLoadResult>(group, "load", script, spec, (seconds + 30) * 1000);
  const cpu = (readProcessCpuSeconds(s.server.pid) ?? 0) - (before ?? 0);
  if (result.ok === 0 || result.notOk > 0 || result.errors > 0) throw new Error(`${s.name}: ${JSON.stringify(result)}`);
  return { result, cpu };
}

function report(servers: Measured[]): void {
  for (const s of servers) {
    console.log(
      `${s.name}: median ${median(s.cpuPerCall).toFixed(1)} µs CPU per call, ${Math.round(median(s.rps))} calls/s`,
    );
  }
  // Each round runs every server back to back: the median of the rounds' own ratios is steadier on a busy machine.
  for (const name of ["http2", "net"]) {
    const own = servers.find((s) => s.name === name)!;
    for (const other of servers) {
      if (other === own) continue;
      const paired = median(own.cpuPerCall.map((x, i) => x / other.cpuPerCall[i]!)).toFixed(2);
      const medians = (median(own.cpuPerCall) / median(other.cpuPerCall)).toFixed(2);
      console.log(`${name} / ${other.name}: ${medians}× CPU per call (median of the rounds' ratios ${paired}×)`);
    }
  }
}

try {
  const identity = await createBenchIdentity(jwks.issuer, "bench-api");
  jwks.setJwks(identity.jwks);
  const setup = { issuer: jwks.issuer, audience: "bench-api", sessionKey: randomBytes(32).toString("base64") };
  const servers = await startServers(setup);
  const request = buildCheckRequest(identity.token, "localhost", "/bench");
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
      const { result, cpu } = await loadPhase(s, request, connections, duration);
      s.cpuPerCall.push((cpu / result.totalCalls) * 1e6);
      s.rps.push(result.requestsPerSecond);
      const line = `${s.cpuPerCall.at(-1)!.toFixed(1)} µs CPU per call, ${Math.round(result.requestsPerSecond)} calls/s`;
      console.log(`round ${r + 1} ${s.name}: ${line}, p99 ${result.latency.p99Ms.toFixed(2)} ms`);
    }
  }
  if (rounds > 0) report(servers);
  if (withSyscalls) {
    for (const concurrency of [1, connections]) {
      for (const s of servers) {
        const counted = await countSocketWrites(s.server.pid, () => loadPhase(s, request, concurrency, 2));
        const perCall = (n: number) => (n / counted.value.result.totalCalls).toFixed(2);
        console.log(
          `${s.name}, ${concurrency} in flight: ${perCall(counted.writes)} socket writes per call ` +
            `(${counted.value.result.totalCalls} calls; ${counted.summary})`,
        );
      }
    }
  }
  if (throughEnvoy) await envoyRounds(servers, identity.token, identity.issuer, identity.jwks);
} finally {
  // A profile is written when serve exits, after its drain and grace periods (5 + 10 s by default).
  await group.stopAll(profileDir === undefined ? 3000 : 40_000);
  await jwks.close();
  rmSync(workDir, { recursive: true, force: true });
}
