// Direct Check against two `serve` processes side by side: this tree and another checkout (e.g. the
// commit before the wire codec, unpacked with `git archive`), the same config and cached bearer
// token, a closed-loop grpc-js client with --connections calls in flight, phases alternating
// (A, B, A, B…). Reports each server's CPU per call (/proc/<pid>/stat over the phase) and calls/s.
// Run: node --disable-warning=ExperimentalWarning bench/checkCodecServer.ts --other DIR [--rounds 4] [--duration 5]
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
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
const other = arg("--other");
if (other === undefined) throw new Error("--other DIR: the checkout to compare with (its node_modules in place)");
const rounds = Number(arg("--rounds") ?? 4);
const duration = Number(arg("--duration") ?? 5);
const connections = Number(arg("--connections") ?? 16);
const here = fileURLToPath(new URL("..", import.meta.url));

const group = new ChildProcessGroup();
const workDir = mkdtempSync(join(tmpdir(), "portcullis-codec-"));
const jwks = await startJwksServer();
try {
  const identity = await createBenchIdentity(jwks.issuer, "bench-api");
  jwks.setJwks(identity.jwks);
  const setup = { issuer: jwks.issuer, audience: "bench-api", sessionKey: randomBytes(32).toString("base64") };
  const trees = [
    { name: "other", root: resolve(other) },
    { name: "this tree", root: here },
  ];
  const servers = [];
  for (const t of trees) {
    const dir = mkdtempSync(join(workDir, "s-"));
    servers.push({
      ...t,
      server: await startPortcullis(group, t.root, dir, setup),
      cpuPerCall: [] as number[],
      rps: [] as number[],
    });
  }
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
      const result = await runJsonChild<CheckLoadResult>(
        group,
        "load",
        join(here, "bench/checkLoadProcess.ts"),
        spec,
        (duration + 30) * 1000,
      );
      const after = readProcessCpuSeconds(s.server.pid);
      if (result.ok === 0 || result.notOk > 0 || result.errors > 0)
        throw new Error(`${s.name}: ${JSON.stringify(result)}`);
      s.cpuPerCall.push((((after ?? 0) - (before ?? 0)) / result.totalCalls) * 1e6);
      s.rps.push(result.requestsPerSecond);
      console.log(
        `round ${r + 1} ${s.name}: ${s.cpuPerCall.at(-1)!.toFixed(1)} µs CPU per call, ${Math.round(result.requestsPerSecond)} calls/s`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const s of servers)
    console.log(
      `${s.name}: median ${median(s.cpuPerCall).toFixed(1)} µs CPU per call, ${Math.round(median(s.rps))} calls/s`,
    );
  const [a, b] = servers as [(typeof servers)[0], (typeof servers)[0]];
  console.log(
    `this tree / other: ${(median(b.cpuPerCall) / median(a.cpuPerCall)).toFixed(2)}× CPU per call, ${(median(b.rps) / median(a.rps)).toFixed(2)}× calls/s`,
  );
} finally {
  await group.stopAll();
  await jwks.close();
  rmSync(workDir, { recursive: true, force: true });
}
