// The Portcullis benchmark: one run, one Envoy, its routes (no auth, native jwt_authn, ext_authz →
// no-op grpc-go and no-op grpc-js Check servers, ext_authz → Portcullis with a bearer token, the same
// over mTLS to a second Portcullis, and with a browser's sealed session cookie, ext_authz HTTP →
// oauth2-proxy) under wrk (max throughput, pinned) and a
// fixed-rate generator (latency at --rate, unpinned), first-seen tokens, direct Check against the
// no-op floors, then memory and cold start on a fresh Portcullis. Writes bench/results/latest.json.
// Loopback only; every phase and child is bounded.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildReport, firstSeenAddedCpu } from "./BenchReport.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { LABELS } from "./benchScenarios.ts";
import { buildGoPeer, NOOP_GO_SERVER, OAUTH2_PROXY, OAUTH2_PROXY_VERSION } from "./buildGoPeer.ts";
import { chartYoungGenerationFlags } from "./chartNodeOptions.ts";
import { ChildProcessGroup, type CpuPinning } from "./ChildProcessGroup.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { createBenchIdentity, type BenchIdentity } from "./createBenchIdentity.ts";
import { createBenchSession, UNRELATED_COOKIES } from "./createBenchSession.ts";
import { formatReport } from "./formatReport.ts";
import { measureMemory, type MemoryResult } from "./measureMemory.ts";
import { measureRound, type RoundResult, type Scenario } from "./measureRound.ts";
import { mintBenchTokens, writeTokenFile } from "./mintBenchTokens.ts";
import { parseBenchArgs, type BenchOptions } from "./parseBenchArgs.ts";
import { pickMedianRound } from "./pickMedianRound.ts";
import { probeRoutes } from "./probeRoutes.ts";
import { readEnvoyClusterTls, type ClusterTlsCounters } from "./readEnvoyClusterTls.ts";
import { readProcessRssMb } from "./readProcessRss.ts";
import { readTokenCacheLookups, type TokenCacheLookups } from "./readTokenCacheLookups.ts";
import { PORTCULLIS_MTLS_CLUSTER, renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { resolveEnvoyBinary } from "./resolveEnvoyBinary.ts";
import { startEnvoy } from "./startEnvoy.ts";
import { startJwksServer, type JwksServer } from "./startJwksServer.ts";
import { reviewRound } from "./reviewRound.ts";
import { startOauth2Proxy } from "./startOauth2Proxy.ts";
import {
  BENCH_CLIENT_ID,
  BENCH_ROUTE_PATH,
  renderPortcullisConfig,
  startPortcullis,
  type PortcullisBenchSetup,
  type RunningPortcullis,
} from "./startPortcullis.ts";
import { startPortcullisOverMtls, type RunningPortcullisOverMtls } from "./startPortcullisOverMtls.ts";

const AUDIENCE = "bench-api";
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A peer of the table that this bench cannot build from the Go module proxy (checked 2026-12). */
const OPA_ENVOY_SKIPPED = {
  peer: "OPA-envoy",
  reason: "skipped: the Go module proxy does not serve github.com/open-policy-agent/opa-envoy-plugin",
};

/** Envoy and the servers on CPU 0, load generators on CPU 1 (taskset), when there are two CPUs or more. */
function cpuPinning(wanted: boolean): CpuPinning | null {
  const count = cpus().length;
  if (!wanted || count < 2 || commandVersion("taskset", ["--version"]) === null) return null;
  return { server: "0", load: "1", all: `0-${count - 1}` };
}

/** The commit the measured Portcullis was built from, "+changes" when src/ differs from it. */
function portcullisRevision(repoRoot: string): string {
  const head = spawnSync("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (head.status !== 0) return process.env["PORTCULLIS_REVISION"] ?? "unknown";
  const dirty = spawnSync("git", ["-C", repoRoot, "status", "--porcelain", "--", "src"], { encoding: "utf8" });
  return `${head.stdout.trim()}${dirty.stdout.trim() === "" ? "" : "+changes"}`;
}

/** The version a Go module is required at in bench/noopGo/go.mod. */
function goModuleVersion(repoRoot: string, module: string): string {
  const goMod = readFileSync(join(repoRoot, "bench", "noopGo", "go.mod"), "utf8");
  return new RegExp(`^\\s*${module.replaceAll(".", "\\.")} (v\\S+)`, "m").exec(goMod)?.[1] ?? "unknown";
}

function commandVersion(command: string, args: string[]): string | null {
  const out = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  if (out.error) return null;
  // Envoy prints an empty line before its version.
  return (
    `${out.stdout}${out.stderr}`
      .split("\n")
      .map((line) => line.trim())
      .find((line) => line !== "") ?? ""
  );
}

/**
 * The memory phase twice on fresh processes, Node's default heap then the heap capped at --heap-cap,
 * each with the same minted tokens; a failure is a problem and leaves that result null.
 */
async function runMemoryPhases(
  group: ChildProcessGroup,
  options: BenchOptions,
  identity: BenchIdentity,
  where: { repoRoot: string; workDir: string; setup: PortcullisBenchSetup },
  problems: string[],
): Promise<[MemoryResult | null, MemoryResult | null]> {
  say(`minting ${options.memoryValid} valid and ${options.memoryInvalid} invalid tokens for the memory phase`);
  const validTokensFile = writeTokenFile(
    join(where.workDir, "memory-valid.txt"),
    mintBenchTokens(identity, options.memoryValid, { label: "memory", valid: true }),
  );
  const invalidTokensFile = writeTokenFile(
    join(where.workDir, "memory-invalid.txt"),
    mintBenchTokens(identity, options.memoryInvalid, { label: "invalid", valid: false }),
  );
  const run = async (heapCapMb: number | null, nodeArgs: readonly string[]): Promise<MemoryResult | null> => {
    const what = heapCapMb === null ? "memory phase" : `memory phase (heap capped at ${heapCapMb} MB)`;
    try {
      const memory = await measureMemory(
        group,
        {
          ...where,
          validTokensFile,
          invalidTokensFile,
          validCount: options.memoryValid,
          invalidCount: options.memoryInvalid,
          idleSeconds: options.idleSeconds,
          concurrency: options.connections,
          heapCapMb,
          nodeArgs,
        },
        say,
      );
      if (memory.valid.ok !== memory.valid.calls || memory.invalid.denied !== memory.invalid.calls)
        problems.push(
          `${what}: valid tokens ${memory.valid.ok}/${memory.valid.calls} allowed, invalid ${memory.invalid.denied}/${memory.invalid.calls} denied (expected all)`,
        );
      return memory;
    } catch (err) {
      problems.push(`${what}: ${message(err)}`);
      say(problems.at(-1)!);
      return null;
    }
  };
  // Node's defaults, then the heap a 256Mi pod of the chart runs with: --heap-cap and the chart's young generation.
  return [await run(null, []), await run(options.heapCapMb, chartYoungGenerationFlags(where.repoRoot))];
}

async function main(): Promise<number> {
  const options = parseBenchArgs(process.argv.slice(2));
  const repoRoot = here("../");
  const workDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
  const pinning = cpuPinning(options.pin);
  const group = new ChildProcessGroup(pinning);
  const problems: string[] = [];
  const warnings: string[] = [];
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
    const loadAtStart = loadavg()[0]!;
    if (loadAtStart > 0.5) {
      warnings.push(
        `the machine was busy at start (1-min load average ${loadAtStart.toFixed(2)}): expect noisy figures`,
      );
      say(warnings.at(-1)!);
    }

    jwksServer = await startJwksServer();
    const identity = await createBenchIdentity(jwksServer.issuer, AUDIENCE);
    jwksServer.setJwks(identity.jwks);
    const authHeaders = { authorization: `Bearer ${identity.token}` };
    // The browser's credential: the session cookie sealed with Portcullis's key, among a site's
    // other cookies (which Portcullis must pass on while stripping its own).
    const setup: PortcullisBenchSetup = {
      issuer: jwksServer.issuer,
      audience: AUDIENCE,
      sessionKey: randomBytes(32).toString("base64"),
    };
    const parsedSetup = parseConfig(JSON.parse(renderPortcullisConfig(setup)));
    if (!parsedSetup.ok)
      throw new Error(`the bench's Portcullis config is invalid: ${JSON.stringify(parsedSetup.problems)}`);
    const browser = createBenchSession({
      key: setup.sessionKey,
      cookieName: parsedSetup.config.session.cookieName,
      provider: "bench",
      issuer: parsedSetup.config.providers["bench"]!.issuer,
      audience: AUDIENCE,
      clientId: BENCH_CLIENT_ID,
    });
    const sessionHeaders = { cookie: `${UNRELATED_COOKIES}; ${browser.cookieHeader}` };
    const headersFor = (s: Scenario) => (s === "portcullisSession" ? sessionHeaders : authHeaders);

    const childScript = (file: string) => ["--disable-warning=ExperimentalWarning", here(file)];
    const portLine = (line: string) => {
      const m = /^\{"port":(\d+)\}$/.exec(line);
      return m ? Number(m[1]) : undefined;
    };
    const upstreamPort = await group
      .spawn("upstream", process.execPath, childScript("./okUpstreamProcess.ts"))
      .waitForLine(portLine, 10_000);
    const noopCheck = group.spawn("noop-check", process.execPath, childScript("./noopCheckServerProcess.ts"), {
      role: "server",
    });
    const noopPort = await noopCheck.waitForLine(portLine, 10_000);
    const goBuild = buildGoPeer(repoRoot, "noop-check-go", NOOP_GO_SERVER);
    let noopGo: { pid: number | undefined; port: number } | null = null;
    if ("skipped" in goBuild) {
      problems.push(`no-op grpc-go server skipped: ${goBuild.skipped}`);
      say(problems.at(-1)!);
    } else {
      const child = group.spawn("noop-check-go", goBuild.bin, [], { role: "server" });
      noopGo = { pid: child.process.pid, port: await child.waitForLine(portLine, 10_000) };
    }
    const skippedPeers = [OPA_ENVOY_SKIPPED];
    let oauth2Proxy: { pid: number | undefined; port: number } | null = null;
    const oauth2ProxyBuild = buildGoPeer(repoRoot, `oauth2-proxy ${OAUTH2_PROXY_VERSION}`, OAUTH2_PROXY);
    try {
      if ("skipped" in oauth2ProxyBuild) throw new Error(oauth2ProxyBuild.skipped);
      oauth2Proxy = await startOauth2Proxy(group, oauth2ProxyBuild.bin, identity.issuer, AUDIENCE);
    } catch (err) {
      skippedPeers.push({ peer: `oauth2-proxy ${OAUTH2_PROXY_VERSION}`, reason: `skipped: ${message(err)}` });
      say(`oauth2-proxy ${skippedPeers.at(-1)!.reason}`);
    }

    let portcullis: RunningPortcullis | null = null;
    try {
      say("starting Portcullis (serve) and waiting for /readyz");
      portcullis = await startPortcullis(group, repoRoot, workDir, setup);
    } catch (err) {
      problems.push(`Portcullis did not start, its scenarios are skipped: ${message(err)}`);
      say(problems.at(-1)!);
    }
    let portcullisMtls: RunningPortcullisOverMtls | null = null;
    try {
      say("starting Portcullis over mTLS (serve with listen.tls, client certificate required)");
      portcullisMtls = await startPortcullisOverMtls(group, repoRoot, workDir, setup);
    } catch (err) {
      problems.push(`Portcullis over mTLS did not start, its scenario is skipped: ${message(err)}`);
      say(problems.at(-1)!);
    }

    const envoy = await startEnvoy(
      group,
      envoyBin,
      workDir,
      renderEnvoyConfig({
        upstreamPort,
        noopCheckGrpcPort: noopPort,
        noopGoCheckGrpcPort: noopGo?.port ?? null,
        oauth2ProxyPort: oauth2Proxy?.port ?? null,
        portcullisGrpcPort: portcullis?.grpcPort ?? null,
        portcullisMtls: portcullisMtls && {
          grpcPort: portcullisMtls.portcullis.grpcPort,
          tls: portcullisMtls.envoyTls,
        },
        issuer: identity.issuer,
        audience: AUDIENCE,
        jwks: identity.jwks,
      }),
    );

    const absent = new Set<Scenario>([
      ...(portcullis === null ? (["portcullis", "portcullisSession"] as const) : []),
      ...(portcullisMtls === null ? (["portcullisMtls"] as const) : []),
      ...(noopGo === null ? (["noopGoExtAuthz"] as const) : []),
      ...(oauth2Proxy === null ? (["oauth2Proxy"] as const) : []),
    ]);
    const urls = await probeRoutes({ envoy, headersFor, absent }, problems);

    const rssAtReadyMb = {
      envoy: readProcessRssMb(envoy.pid),
      portcullis: readProcessRssMb(portcullis?.pid),
      portcullisMtls: readProcessRssMb(portcullisMtls?.portcullis.pid),
      noopGrpcJs: readProcessRssMb(noopCheck.process.pid),
      noopGrpcGo: readProcessRssMb(noopGo?.pid),
      oauth2Proxy: readProcessRssMb(oauth2Proxy?.pid),
    };
    // Every first-seen token is used once: each round gets its own, minted before any phase runs.
    const firstSeenCount = Math.ceil(options.firstSeenRate * (options.warmupSeconds + options.durationSeconds)) + 100;
    say(`minting ${options.rounds * firstSeenCount} first-seen tokens`);
    const firstSeenFiles = Array.from({ length: options.rounds }, (_, i) =>
      writeTokenFile(
        join(workDir, `first-seen-${i}.txt`),
        mintBenchTokens(identity, firstSeenCount, { label: `first-seen-${i}`, valid: true }),
      ),
    );

    const rounds: RoundResult[] = [];
    for (let i = 0; i < options.rounds; i += 1) {
      if (options.rounds > 1) say(`round ${i + 1} of ${options.rounds}`);
      const round = await measureRound(
        group,
        options,
        {
          urls,
          labels: LABELS,
          headers: {
            noAuth: authHeaders,
            jwtAuthn: authHeaders,
            noopGoExtAuthz: authHeaders,
            noopExtAuthz: authHeaders,
            portcullis: authHeaders,
            portcullisMtls: authHeaders,
            portcullisSession: sessionHeaders,
            oauth2Proxy: authHeaders,
          },
          noopCheckTarget: `127.0.0.1:${noopPort}`,
          noopGoCheckTarget: noopGo ? `127.0.0.1:${noopGo.port}` : null,
          portcullisCheckTarget: portcullis ? `127.0.0.1:${portcullis.grpcPort}` : null,
          portcullisAdminPort: portcullis?.adminPort ?? null,
          portcullisMtlsAdminPort: portcullisMtls?.portcullis.adminPort ?? null,
          checkRequest: buildCheckRequest(identity.token, "127.0.0.1:10000", BENCH_ROUTE_PATH),
          firstSeenTokensFile: firstSeenFiles[i]!,
          firstSeenRate: options.firstSeenRate,
          pids: {
            envoy: envoy.pid,
            portcullis: portcullis?.pid,
            portcullisMtls: portcullisMtls?.portcullis.pid,
            noopCheck: noopCheck.process.pid,
            noopGoCheck: noopGo?.pid,
            oauth2Proxy: oauth2Proxy?.pid,
          },
        },
        problems,
        say,
      );
      rounds.push(round);
      const review = reviewRound(round, i);
      problems.push(...review.problems);
      warnings.push(...review.warnings);
    }

    const [memory, memoryHeapCapped] = await runMemoryPhases(
      group,
      options,
      identity,
      { repoRoot, workDir, setup },
      problems,
    );

    // How often Envoy paid a handshake to the mTLS Portcullis over the whole run, beside its calls.
    let mtlsConnections: ClusterTlsCounters | null = null;
    if (portcullisMtls && urls.has("portcullisMtls")) {
      try {
        mtlsConnections = await readEnvoyClusterTls(envoy.adminUrl, PORTCULLIS_MTLS_CLUSTER);
      } catch (err) {
        problems.push(`Envoy's TLS counters of the mTLS route: ${message(err)}`);
      }
    }

    let tokenCache: TokenCacheLookups | null = null;
    if (portcullis) {
      try {
        tokenCache = await readTokenCacheLookups(portcullis.adminPort);
      } catch (err) {
        problems.push(`Portcullis token-cache metrics: ${message(err)}`);
      }
    }

    const median = <K extends "throughput" | "fixedRate" | "fixedRatePinned">(
      kind: K,
      s: Scenario,
      key: (r: NonNullable<RoundResult[K][Scenario]>) => number,
    ) =>
      pickMedianRound(
        rounds.map((r) => r[kind][s] as NonNullable<RoundResult[K][Scenario]> | null),
        key,
      );
    const byScenario = <T>(pick: (s: Scenario) => T) => ({
      noAuth: pick("noAuth"),
      jwtAuthn: pick("jwtAuthn"),
      noopGoExtAuthz: pick("noopGoExtAuthz"),
      noopExtAuthz: pick("noopExtAuthz"),
      portcullis: pick("portcullis"),
      portcullisMtls: pick("portcullisMtls"),
      portcullisSession: pick("portcullisSession"),
      oauth2Proxy: pick("oauth2Proxy"),
    });
    const report = buildReport({
      startedAt,
      options,
      environment: {
        node: process.version,
        envoy: /\/(\d+\.\d+\.\d+)\//.exec(commandVersion(envoyBin, ["--version"]) ?? "")?.[1] ?? "unknown",
        wrk: wrkVersion,
        portcullis: portcullisRevision(repoRoot),
        go: "skipped" in goBuild ? "unavailable" : goBuild.goVersion,
        grpcGo: goModuleVersion(repoRoot, "google.golang.org/grpc"),
        oauth2Proxy: "skipped" in oauth2ProxyBuild ? "unavailable" : OAUTH2_PROXY_VERSION,
        grpcJs: JSON.parse(readFileSync(join(repoRoot, "node_modules", "@grpc", "grpc-js", "package.json"), "utf8"))
          .version as string,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        kernel: release(),
        pinning: pinning
          ? `Envoy and servers on CPU ${pinning.server}, load generators on CPU ${pinning.load} (wrk, direct Check, memory, the pinned fixed-rate rows); fixed-rate and first-seen unpinned`
          : "none",
        loadAverage1mAtStart: Number(loadAtStart.toFixed(2)),
        loadAverage1mAtEnd: Number(loadavg()[0]!.toFixed(2)),
      },
      throughput: byScenario((s) => median("throughput", s, (r) => r.requestsPerSecond)),
      fixedRate: byScenario((s) => median("fixedRate", s, (r) => r.responseTime.p99Ms)),
      fixedRatePinned: byScenario((s) => median("fixedRatePinned", s, (r) => r.responseTime.p99Ms)),
      check: {
        noopFloor: pickMedianRound(
          rounds.map((r) => r.check.noopFloor),
          (r) => r.requestsPerSecond,
        ),
        noopGoFloor: pickMedianRound(
          rounds.map((r) => r.check.noopGoFloor),
          (r) => r.requestsPerSecond,
        ),
        portcullis: pickMedianRound(
          rounds.map((r) => r.check.portcullis),
          (r) => r.requestsPerSecond,
        ),
      },
      // The round whose first-seen check added the median CPU over its own cached phase.
      firstSeen: pickMedianRound(
        rounds.map((r) => r.firstSeen),
        (r) => firstSeenAddedCpu(r, null) ?? 0,
      ),
      memory,
      memoryHeapCapped,
      rssAtReadyMb,
      skippedPeers,
      portcullisTokenCache: tokenCache,
      portcullisMtlsConnections: mtlsConnections,
      rounds,
      problems,
      warnings,
    });
    process.stdout.write(`\n${formatReport(report)}`);
    // The results file is committed: bench/README.md's table is generated from it (bench/writeBenchTable.ts).
    const outDir = join(repoRoot, "bench", "results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
    say(
      `results written to bench/results/latest.json; node bench/writeBenchTable.ts puts its table in bench/README.md`,
    );
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
