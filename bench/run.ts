// The Portcullis benchmark: one run, one Envoy, three routes (no auth, native jwt_authn, ext_authz →
// Portcullis) under wrk (max throughput) and a fixed-rate generator (latency at --rate), plus the
// direct Check rate against a no-op grpc-js floor. Loopback only; every phase and child is bounded.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildReport, type ByAuth } from "./BenchReport.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import type { CheckLoadResult, CheckLoadSpec } from "./checkLoadProcess.ts";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { fetchText } from "./fetchText.ts";
import type { FixedRateResult, FixedRateSpec } from "./fixedRateLoad.ts";
import { formatReport } from "./formatReport.ts";
import { parseBenchArgs } from "./parseBenchArgs.ts";
import type { WrkResult } from "./parseWrkOutput.ts";
import { LISTENER_NAMES, renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { resolveEnvoyBinary } from "./resolveEnvoyBinary.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { runWrk } from "./runWrk.ts";
import { startEnvoy } from "./startEnvoy.ts";
import { startJwksServer, type JwksServer } from "./startJwksServer.ts";
import { BENCH_ROUTE_PATH, startPortcullis, type RunningPortcullis } from "./startPortcullis.ts";

type Scenario = keyof ByAuth<unknown>;
const SCENARIOS: readonly { key: Scenario; label: string; listener: string; enforcesAuth: boolean }[] = [
  { key: "noAuth", label: "no auth", listener: LISTENER_NAMES.noAuth, enforcesAuth: false },
  { key: "jwtAuthn", label: "jwt_authn", listener: LISTENER_NAMES.jwtAuthn, enforcesAuth: true },
  { key: "portcullis", label: "ext_authz Portcullis", listener: LISTENER_NAMES.extAuthz, enforcesAuth: true },
];
const AUDIENCE = "bench-api";
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function commandVersion(command: string, args: string[]): string | null {
  const out = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  if (out.error) return null;
  return `${out.stdout}${out.stderr}`.split("\n")[0]!.trim();
}

async function main(): Promise<number> {
  const options = parseBenchArgs(process.argv.slice(2));
  const repoRoot = here("../");
  const workDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
  const group = new ChildProcessGroup();
  const problems: string[] = [];
  let jwksServer: JwksServer | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await group.stopAll();
    await jwksServer?.close();
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = () => {
    say("interrupted: stopping every child process");
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    const wrkVersion = commandVersion(process.env["WRK_BIN"] ?? "wrk", ["--version"]);
    if (wrkVersion === null) throw new Error("wrk is not installed (Debian: apt-get install -y wrk), or set WRK_BIN");
    const envoyBin = resolveEnvoyBinary(repoRoot);
    const startedAt = new Date().toISOString();

    jwksServer = await startJwksServer();
    const identity = await createBenchIdentity(jwksServer.issuer, AUDIENCE);
    jwksServer.setJwks(identity.jwks);
    const authHeaders = { authorization: `Bearer ${identity.token}` };

    const node = process.execPath;
    const childScript = (file: string) => ["--disable-warning=ExperimentalWarning", here(file)];
    const portLine = (line: string) => {
      const m = /^\{"port":(\d+)\}$/.exec(line);
      return m ? Number(m[1]) : undefined;
    };
    const upstreamPort = await group.spawn("upstream", node, childScript("./okUpstreamProcess.ts")).waitForLine(portLine, 10_000);
    const noopPort = await group.spawn("noop-check", node, childScript("./noopCheckServerProcess.ts")).waitForLine(portLine, 10_000);

    let portcullis: RunningPortcullis | null = null;
    try {
      say("starting Portcullis (serve) and waiting for /readyz");
      portcullis = await startPortcullis(group, repoRoot, workDir, jwksServer.issuer, AUDIENCE);
    } catch (err) {
      problems.push(`Portcullis did not start, its scenarios are skipped: ${message(err)}`);
      say(problems.at(-1)!);
    }

    const envoy = await startEnvoy(
      group,
      envoyBin,
      workDir,
      renderEnvoyConfig({ upstreamPort, portcullisGrpcPort: portcullis?.grpcPort ?? null, issuer: identity.issuer, audience: AUDIENCE, jwks: identity.jwks }),
    );

    // Only a route proven to pass the token and refuse its absence is measured: a fast 401/403
    // path would otherwise pass for a fast filter.
    const urls = new Map<Scenario, string>();
    for (const s of SCENARIOS) {
      const port = envoy.ports.get(s.listener);
      if (port === undefined) {
        if (s.key !== "portcullis" || portcullis !== null) problems.push(`envoy has no ${s.listener} listener`);
        continue;
      }
      const url = `http://127.0.0.1:${port}${BENCH_ROUTE_PATH}`;
      try {
        const withToken = await fetchText(url, authHeaders);
        if (withToken.status !== 200 || withToken.body !== "ok") throw new Error(`with the token: ${withToken.status} ${withToken.body.slice(0, 200)}`);
        if (s.enforcesAuth) {
          const without = await fetchText(url);
          if (without.status !== 401) throw new Error(`without a token: expected 401, got ${without.status}`);
        }
        urls.set(s.key, url);
      } catch (err) {
        problems.push(`${s.label}: sanity probe failed, not measured: ${message(err)}`);
      }
    }

    const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | null> => {
      try {
        return await run();
      } catch (err) {
        problems.push(`${what}: ${message(err)}`);
        say(`${what} failed: ${message(err)}`);
        return null;
      }
    };

    const throughput: Record<Scenario, WrkResult | null> = { noAuth: null, jwtAuthn: null, portcullis: null };
    for (const s of SCENARIOS) {
      const url = urls.get(s.key);
      if (!url) continue;
      say(`wrk, ${s.label}: ${options.warmupSeconds}s warm-up + ${options.durationSeconds}s`);
      throughput[s.key] = await attempt(`wrk ${s.label}`, async () => {
        await runWrk(group, `wrk-warmup-${s.key}`, { url, headers: authHeaders, connections: options.connections, durationSeconds: options.warmupSeconds });
        return runWrk(group, `wrk-${s.key}`, { url, headers: authHeaders, connections: options.connections, durationSeconds: options.durationSeconds });
      });
    }

    const boundMs = (options.warmupSeconds + options.durationSeconds + 20) * 1000;
    const fixedRate: Record<Scenario, FixedRateResult | null> = { noAuth: null, jwtAuthn: null, portcullis: null };
    for (const s of SCENARIOS) {
      const url = urls.get(s.key);
      if (!url) continue;
      say(`fixed rate ${options.rate}/s, ${s.label}: ${options.warmupSeconds}s warm-up + ${options.durationSeconds}s`);
      const spec: FixedRateSpec = {
        url,
        headers: authHeaders,
        rate: options.rate,
        warmupSeconds: options.warmupSeconds,
        durationSeconds: options.durationSeconds,
        connections: options.connections,
        timeoutMs: 2000,
      };
      fixedRate[s.key] = await attempt(`fixed-rate ${s.label}`, () => runJsonChild<FixedRateResult>(group, `fixed-rate-${s.key}`, here("./fixedRateLoad.ts"), spec, boundMs));
    }

    const checkSpec = (port: number): CheckLoadSpec => ({
      target: `127.0.0.1:${port}`,
      concurrency: options.connections,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      request: buildCheckRequest(identity.token, "127.0.0.1:10000", BENCH_ROUTE_PATH),
    });
    say(`direct Check, no-op floor: ${options.warmupSeconds}s warm-up + ${options.durationSeconds}s`);
    const noopFloor = await attempt("direct Check no-op floor", () => runJsonChild<CheckLoadResult>(group, "check-noop", here("./checkLoadProcess.ts"), checkSpec(noopPort), boundMs));
    let checkPortcullis: CheckLoadResult | null = null;
    if (portcullis) {
      const grpcPort = portcullis.grpcPort;
      say(`direct Check, Portcullis: ${options.warmupSeconds}s warm-up + ${options.durationSeconds}s`);
      checkPortcullis = await attempt("direct Check Portcullis", () => runJsonChild<CheckLoadResult>(group, "check-portcullis", here("./checkLoadProcess.ts"), checkSpec(grpcPort), boundMs));
      if (checkPortcullis && checkPortcullis.notOk + checkPortcullis.errors > 0) {
        problems.push(`direct Check Portcullis: ${checkPortcullis.notOk} denied and ${checkPortcullis.errors} failed calls (expected all OK)`);
      }
    }
    for (const s of SCENARIOS) {
      const w = throughput[s.key];
      if (w && w.non2xx + w.socketErrors > 0) problems.push(`wrk ${s.label}: ${w.non2xx} non-2xx responses, ${w.socketErrors} socket errors`);
      const f = fixedRate[s.key];
      if (f && f.non2xx + f.errors > 0) problems.push(`fixed-rate ${s.label}: ${f.non2xx} non-2xx responses, ${f.errors} failed requests`);
      if (f && f.sendLagP99Ms > 2) problems.push(`fixed-rate ${s.label}: the generator itself lagged (send lag p99 ${f.sendLagP99Ms.toFixed(2)} ms); latencies are pessimistic`);
    }

    const report = buildReport({
      startedAt,
      options,
      environment: {
        node: process.version,
        envoy: commandVersion(envoyBin, ["--version"])?.replace(/^.*version:\s*/, "") ?? "unknown",
        wrk: wrkVersion,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
      },
      throughput,
      fixedRate,
      check: { noopFloor, portcullis: checkPortcullis },
      problems,
    });
    process.stdout.write(`\n${formatReport(report)}`);
    const outDir = join(repoRoot, ".cache", "bench");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
    say(`results written to ${join(outDir, "latest.json")}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${message(err)}\n`);
    process.exitCode = 1;
  },
);
