// Direct Check through the two gRPC transports side by side: two `serve` processes of one tree, the
// same config and cached bearer token, one with grpc-js and one with the node:http2 server
// (PORTCULLIS_GRPC_TRANSPORT=http2), a closed-loop grpc-js client with --connections calls in flight,
// phases alternating (A, B, B, A…). Reports each server's CPU per call (/proc/<pid>/stat) and calls/s.
// Run: node --disable-warning=ExperimentalWarning bench/h2Transport.ts [--root DIR] [--rounds 4] [--duration 5]
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import type { CheckLoadResult, CheckLoadSpec } from "./checkLoadProcess.ts";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { readProcessCpuSeconds } from "./readProcessCpuSeconds.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { startPortcullis } from "./startPortcullis.ts";

const arg = (name: string): string | undefined =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined;
const here = fileURLToPath(new URL("..", import.meta.url));
const root = resolve(arg("--root") ?? here);
const rounds = Number(arg("--rounds") ?? 4);
const duration = Number(arg("--duration") ?? 5);
const connections = Number(arg("--connections") ?? 16);

/** Which server answers on a port: grpc-js advertises grpc-accept-encoding in its response headers, the node:http2 server does not. */
function servedBy(port: number): Promise<string> {
  return new Promise((done, fail) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on("error", fail);
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("response", (headers) => {
      done(headers["grpc-accept-encoding"] === undefined ? "http2" : "grpc-js");
      session.close();
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

const group = new ChildProcessGroup();
const workDir = mkdtempSync(join(tmpdir(), "portcullis-h2-"));
const jwks = await startJwksServer();
try {
  const identity = await createBenchIdentity(jwks.issuer, "bench-api");
  jwks.setJwks(identity.jwks);
  const setup = { issuer: jwks.issuer, audience: "bench-api", sessionKey: randomBytes(32).toString("base64") };
  const servers = [];
  for (const transport of ["grpc-js", "http2"]) {
    // The serve child inherits the environment: the switch is read there.
    process.env["PORTCULLIS_GRPC_TRANSPORT"] = transport;
    const server = await startPortcullis(group, root, mkdtempSync(join(workDir, "s-")), setup, transport);
    const actual = await servedBy(server.grpcPort);
    if (actual !== transport) {
      throw new Error(`${transport} asked, ${actual} serves: is src/app/startServer.ts calling startCheckServer?`);
    }
    servers.push({ name: transport, server, cpuPerCall: [] as number[], rps: [] as number[] });
  }
  delete process.env["PORTCULLIS_GRPC_TRANSPORT"];
  const request = buildCheckRequest(identity.token, "localhost", "/bench");
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? servers : [...servers].reverse()) {
      const spec: CheckLoadSpec = {
        target: `127.0.0.1:${s.server.grpcPort}`,
        concurrency: connections,
        warmupSeconds: 1,
        durationSeconds: duration,
        request,
      };
      const before = readProcessCpuSeconds(s.server.pid);
      const script = join(here, "bench/checkLoadProcess.ts");
      const result = await runJsonChild<CheckLoadResult>(group, "load", script, spec, (duration + 30) * 1000);
      const after = readProcessCpuSeconds(s.server.pid);
      if (result.ok === 0 || result.notOk > 0 || result.errors > 0) {
        throw new Error(`${s.name}: ${JSON.stringify(result)}`);
      }
      s.cpuPerCall.push((((after ?? 0) - (before ?? 0)) / result.totalCalls) * 1e6);
      s.rps.push(result.requestsPerSecond);
      const line = `${s.cpuPerCall.at(-1)!.toFixed(1)} µs CPU per call, ${Math.round(result.requestsPerSecond)} calls/s`;
      console.log(`round ${r + 1} ${s.name}: ${line}, p99 ${result.latency.p99Ms.toFixed(2)} ms`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const s of servers) {
    console.log(
      `${s.name}: median ${median(s.cpuPerCall).toFixed(1)} µs CPU per call, ${Math.round(median(s.rps))} calls/s`,
    );
  }
  const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
  const cpu = (median(b.cpuPerCall) / median(a.cpuPerCall)).toFixed(2);
  console.log(`http2 / grpc-js: ${cpu}× CPU per call, ${(median(b.rps) / median(a.rps)).toFixed(2)}× calls/s`);
  // Each round runs both back to back: the median of the rounds' own ratios is steadier on a busy machine.
  const paired = b.cpuPerCall.map((x, i) => x / a.cpuPerCall[i]!);
  console.log(`http2 / grpc-js, median of the rounds' ratios: ${median(paired).toFixed(2)}× CPU per call`);
} finally {
  await group.stopAll();
  await jwks.close();
  rmSync(workDir, { recursive: true, force: true });
}
