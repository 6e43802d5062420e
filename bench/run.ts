// The Portcullis benchmark: one run, one Envoy, four routes (no auth, native jwt_authn, ext_authz →
// no-op grpc-js Check server, ext_authz → Portcullis, the last with a bearer token and again with a
// browser's sealed session cookie) under wrk (max throughput) and a fixed-rate generator (latency at
// --rate), plus the direct Check rate against the same no-op grpc-js floor.
// Loopback only; every phase and child is bounded.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildReport } from "./BenchReport.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { createBenchSession, UNRELATED_COOKIES } from "./createBenchSession.ts";
import { fetchText } from "./fetchText.ts";
import { formatReport } from "./formatReport.ts";
import { measureRound, type RoundResult, type Scenario } from "./measureRound.ts";
import { parseBenchArgs } from "./parseBenchArgs.ts";
import { pickMedianRound } from "./pickMedianRound.ts";
import { readTokenCacheLookups, type TokenCacheLookups } from "./readTokenCacheLookups.ts";
import { LISTENER_NAMES, renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { resolveEnvoyBinary } from "./resolveEnvoyBinary.ts";
import { startEnvoy } from "./startEnvoy.ts";
import { startJwksServer, type JwksServer } from "./startJwksServer.ts";
import {
  BENCH_CLIENT_ID,
  BENCH_ROUTE_PATH,
  renderPortcullisConfig,
  startPortcullis,
  type PortcullisBenchSetup,
  type RunningPortcullis,
} from "./startPortcullis.ts";

const SCENARIOS: readonly { key: Scenario; label: string; listener: string; enforcesAuth: boolean }[] = [
  { key: "noAuth", label: "no auth", listener: LISTENER_NAMES.noAuth, enforcesAuth: false },
  { key: "jwtAuthn", label: "jwt_authn", listener: LISTENER_NAMES.jwtAuthn, enforcesAuth: true },
  // The no-op Check server says OK to everything, with or without a token: probed for 200 only.
  { key: "noopExtAuthz", label: "ext_authz no-op", listener: LISTENER_NAMES.noopExtAuthz, enforcesAuth: false },
  { key: "portcullis", label: "ext_authz Portcullis", listener: LISTENER_NAMES.extAuthz, enforcesAuth: true },
  // The same listener and Portcullis process; only the credential differs.
  {
    key: "portcullisSession",
    label: "ext_authz Portcullis (session)",
    listener: LISTENER_NAMES.extAuthz,
    enforcesAuth: true,
  },
];
const LABELS = Object.fromEntries(SCENARIOS.map((s) => [s.key, s.label])) as Record<Scenario, string>;
const AUDIENCE = "bench-api";
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const say = (text: string) => process.stderr.write(`bench: ${text}\n`);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function commandVersion(command: string, args: string[]): string | null {
  const out = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  if (out.error) return null;
  return `${out.stdout}${out.stderr}`.split("\n")[0]!.trim();
}

/** What a clean-looking figure would hide: errors under load (problems) or a generator that fell behind (warnings). */
function reviewRound(round: RoundResult, index: number): { problems: string[]; warnings: string[] } {
  const found: string[] = [];
  const warnings: string[] = [];
  const where = (label: string) => `round ${index + 1}, ${label}`;
  for (const s of SCENARIOS) {
    const w = round.throughput[s.key];
    if (w && w.non2xx + w.socketErrors > 0)
      found.push(`${where(`wrk ${s.label}`)}: ${w.non2xx} non-2xx responses, ${w.socketErrors} socket errors`);
    const f = round.fixedRate[s.key];
    if (f && f.non2xx + f.errors > 0)
      found.push(`${where(`fixed-rate ${s.label}`)}: ${f.non2xx} non-2xx responses, ${f.errors} failed requests`);
    if (f && f.sendLagP99Ms > 2)
      warnings.push(
        `${where(`fixed-rate ${s.label}`)}: the generator itself lagged (send lag p99 ${f.sendLagP99Ms.toFixed(2)} ms); the machine is short of CPU`,
      );
  }
  const c = round.check.portcullis;
  if (c && c.notOk + c.errors > 0)
    found.push(`${where("direct Check Portcullis")}: ${c.notOk} denied and ${c.errors} failed calls (expected all OK)`);
  return { problems: found, warnings };
}

async function main(): Promise<number> {
  const options = parseBenchArgs(process.argv.slice(2));
  const repoRoot = here("../");
  const workDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
  const group = new ChildProcessGroup();
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
    const noopCheck = group.spawn("noop-check", process.execPath, childScript("./noopCheckServerProcess.ts"));
    const noopPort = await noopCheck.waitForLine(portLine, 10_000);

    let portcullis: RunningPortcullis | null = null;
    try {
      say("starting Portcullis (serve) and waiting for /readyz");
      portcullis = await startPortcullis(group, repoRoot, workDir, setup);
    } catch (err) {
      problems.push(`Portcullis did not start, its scenarios are skipped: ${message(err)}`);
      say(problems.at(-1)!);
    }

    const envoy = await startEnvoy(
      group,
      envoyBin,
      workDir,
      renderEnvoyConfig({
        upstreamPort,
        noopCheckGrpcPort: noopPort,
        portcullisGrpcPort: portcullis?.grpcPort ?? null,
        issuer: identity.issuer,
        audience: AUDIENCE,
        jwks: identity.jwks,
      }),
    );

    // Only a route proven to pass the token and refuse its absence is measured: a fast 401/403
    // path would otherwise pass for a fast filter.
    const urls = new Map<Scenario, string>();
    for (const s of SCENARIOS) {
      const port = envoy.ports.get(s.listener);
      if (port === undefined) {
        if ((s.key !== "portcullis" && s.key !== "portcullisSession") || portcullis !== null)
          problems.push(`envoy has no ${s.listener} listener`);
        continue;
      }
      const url = `http://127.0.0.1:${port}${BENCH_ROUTE_PATH}`;
      try {
        const withToken = await fetchText(url, headersFor(s.key));
        if (withToken.status !== 200 || withToken.body !== "ok")
          throw new Error(`with the credential: ${withToken.status} ${withToken.body.slice(0, 200)}`);
        if (s.enforcesAuth) {
          const without = await fetchText(url);
          if (without.status !== 401) throw new Error(`without a credential: expected 401, got ${without.status}`);
        }
        urls.set(s.key, url);
      } catch (err) {
        problems.push(`${s.label}: sanity probe failed, not measured: ${message(err)}`);
      }
    }

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
            noopExtAuthz: authHeaders,
            portcullis: authHeaders,
            portcullisSession: sessionHeaders,
          },
          noopCheckTarget: `127.0.0.1:${noopPort}`,
          portcullisCheckTarget: portcullis ? `127.0.0.1:${portcullis.grpcPort}` : null,
          checkRequest: buildCheckRequest(identity.token, "127.0.0.1:10000", BENCH_ROUTE_PATH),
          pids: { envoy: envoy.pid, portcullis: portcullis?.pid, noopCheck: noopCheck.process.pid },
        },
        problems,
        say,
      );
      rounds.push(round);
      const review = reviewRound(round, i);
      problems.push(...review.problems);
      warnings.push(...review.warnings);
    }

    let tokenCache: TokenCacheLookups | null = null;
    if (portcullis) {
      try {
        tokenCache = await readTokenCacheLookups(portcullis.adminPort);
      } catch (err) {
        problems.push(`Portcullis token-cache metrics: ${message(err)}`);
      }
    }

    const median = <K extends "throughput" | "fixedRate">(
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
      noopExtAuthz: pick("noopExtAuthz"),
      portcullis: pick("portcullis"),
      portcullisSession: pick("portcullisSession"),
    });
    const report = buildReport({
      startedAt,
      options,
      environment: {
        node: process.version,
        envoy: commandVersion(envoyBin, ["--version"])?.replace(/^.*version:\s*/, "") ?? "unknown",
        wrk: wrkVersion,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        loadAverage1mAtStart: Number(loadAtStart.toFixed(2)),
        loadAverage1mAtEnd: Number(loadavg()[0]!.toFixed(2)),
      },
      throughput: byScenario((s) => median("throughput", s, (r) => r.requestsPerSecond)),
      fixedRate: byScenario((s) => median("fixedRate", s, (r) => r.responseTime.p99Ms)),
      check: {
        noopFloor: pickMedianRound(
          rounds.map((r) => r.check.noopFloor),
          (r) => r.requestsPerSecond,
        ),
        portcullis: pickMedianRound(
          rounds.map((r) => r.check.portcullis),
          (r) => r.requestsPerSecond,
        ),
      },
      portcullisTokenCache: tokenCache,
      rounds,
      problems,
      warnings,
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
