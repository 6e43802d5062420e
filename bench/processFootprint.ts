// The weight of a `serve` process: cold start (spawn to /readyz 200) and RSS at ready, for a minimal
// config (one provider, bearer tokens only) and for one with Redis and tracing, started --runs times
// each from src/cli/main.ts as a checkout runs it; with --base DIR an older tree (a git worktree with
// node_modules beside it) runs alternately with this one in the same run. A loopback issuer stub
// times discovery and the JWKS fetch, so the start-up's own share is reported apart from the IdP's.
// --built also runs each tree compiled as the package ships it (dist/cli/main.js, no type stripping);
// --compile-cache also runs each with Node's compile cache warmed, as bin/portcullis starts it.
// Run: node --disable-warning=ExperimentalWarning bench/processFootprint.ts [--runs 7] [--base DIR]
//      [--built] [--compile-cache]
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const RUNS = Number(arg("runs", "7"));
const REPO = fileURLToPath(new URL("..", import.meta.url));
const BASE = arg("base", "");
const BUILT = process.argv.includes("--built");
const CACHED = process.argv.includes("--compile-cache");
const sourceTrees: ReadonlyArray<readonly [string, string]> =
  BASE === ""
    ? [["this", REPO]]
    : [
        ["base", resolve(BASE)],
        ["this", REPO],
      ];

/** A tree and how `serve` is started in it: its TypeScript sources or its compiled dist/, with or without a compile cache. */
interface Variant {
  readonly name: string;
  /** The variant's name without the tree's: what the ratios pair up. */
  readonly kind: string;
  readonly root: string;
  readonly main: string;
  /** NODE_COMPILE_CACHE, or null for none. */
  readonly compileCache: string | null;
}

/** Compiles `root` as `npm pack` does (tsconfig.build.json) into `out`/dist, beside links to what dist/ reads. */
function buildTree(root: string, out: string): string {
  for (const part of ["proto", "package.json", "node_modules"]) symlinkSync(join(root, part), join(out, part));
  const tsc = spawnSync(
    process.execPath,
    [
      join(root, "node_modules/typescript/bin/tsc"),
      "-p",
      join(root, "tsconfig.build.json"),
      "--outDir",
      join(out, "dist"),
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  // Type errors (work in progress in a shared checkout) still emit JavaScript; only a missing entry point stops the run.
  const main = join(out, "dist/cli/main.js");
  if (!existsSync(main)) throw new Error(`tsc produced no ${main} for ${root}`);
  if (tsc.status !== 0)
    console.log(`note: ${root} has type errors (tsc exit ${tsc.status}); its emitted JavaScript is measured`);
  return main;
}

/** When the issuer stub was first asked for discovery and when it finished sending the JWKS. */
interface IdpTimes {
  discoveryAt: number | null;
  jwksDoneAt: number | null;
}

interface IssuerStub {
  readonly issuer: string;
  readonly tracesUrl: string;
  readonly times: IdpTimes;
  reset(): void;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return (server.address() as AddressInfo).port;
}

async function startIssuerStub(): Promise<IssuerStub> {
  const times: IdpTimes = { discoveryAt: null, jwksDoneAt: null };
  let issuer = "";
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/v1/traces") return void req.resume().on("end", () => res.writeHead(200).end("{}"));
    if (path === "/.well-known/openid-configuration") times.discoveryAt ??= performance.now();
    const body =
      path === "/.well-known/openid-configuration"
        ? { issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ["RS256"] }
        : path === "/jwks.json"
          ? { keys: [] }
          : null;
    if (body === null) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body), () => {
      if (path === "/jwks.json") times.jwksDoneAt ??= performance.now();
    });
  });
  server.keepAliveTimeout = 200;
  issuer = `http://127.0.0.1:${await listen(server)}`;
  return {
    issuer,
    tracesUrl: `${issuer}/v1/traces`,
    times,
    reset() {
      times.discoveryAt = null;
      times.jwksDoneAt = null;
    },
    close: () => new Promise<void>((done) => (server.closeAllConnections(), server.close(() => done()))),
  };
}

/** A throwaway redis-server on a free loopback port, or null (with the reason) when none is installed. */
async function startRedis(dir: string): Promise<{ url: string; stop(): void } | string> {
  const bin = process.env["REDIS_SERVER_BIN"] ?? "/usr/bin/redis-server";
  if (!existsSync(bin)) return `no redis-server at ${bin} (set REDIS_SERVER_BIN)`;
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((done) => probe.close(() => done()));
  const child = spawn(
    bin,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    {
      stdio: "ignore",
    },
  );
  for (let i = 0; i < 200; i++) {
    const up = spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: "ignore" }).status === 0;
    if (up) return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill("SIGKILL") };
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGKILL");
  return "redis-server did not accept connections within 5 s";
}

function renderConfig(issuer: string, extra: object): string {
  return JSON.stringify({
    listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    providers: { idp: { issuer, audiences: ["api"], algorithms: ["RS256"], allowInsecureHttp: true } },
    routes: [{ name: "api", match: { path: "/" }, auth: "required", providers: ["idp"] }],
    log: { level: "info" },
    shutdown: { drainSeconds: 0 },
    ...extra,
  });
}

interface Sample {
  readonly readyMs: number;
  /** Spawn to the first discovery request: the process's own start-up. */
  readonly toDiscoveryMs: number;
  /** First discovery request to the JWKS sent: the IdP's share. */
  readonly discoveryMs: number;
  readonly rssMb: number;
  /** The anonymous (private) part of the RSS: what each further process (a worker) adds; the rest is mostly Node's binary, shared. */
  readonly privateMb: number;
}

async function waitFor200(url: string, deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    const status = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => (void r.body?.cancel(), r.status),
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${url} did not answer 200 in time`);
}

function statusMb(pid: number, field: "VmRSS" | "RssAnon"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return line === null ? Number.NaN : Number(line[1]) / 1024;
}

async function startOnce(variant: Variant, configFile: string, stub: IssuerStub): Promise<Sample> {
  stub.reset();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", variant.main, "serve", "--config", configFile],
    { cwd: variant.root, stdio: ["ignore", "pipe", "pipe"], env: compileCacheEnv(variant.compileCache) },
  );
  const tail: string[] = [];
  createInterface({ input: child.stderr }).on("line", (l) => tail.push(l));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  try {
    const adminPort = await new Promise<number>((done, fail) => {
      createInterface({ input: child.stdout }).on("line", (line) => {
        tail.push(line);
        if (line.includes('"portcullis ready"')) done((JSON.parse(line) as { adminPort: number }).adminPort);
      });
      void exited.then(() => fail(new Error(`serve exited before it was ready:\n${tail.slice(-10).join("\n")}`)));
    });
    await waitFor200(`http://127.0.0.1:${adminPort}/readyz`, t0 + 30_000);
    const readyMs = performance.now() - t0;
    const sample = {
      readyMs,
      toDiscoveryMs: (stub.times.discoveryAt ?? Number.NaN) - t0,
      discoveryMs: (stub.times.jwksDoneAt ?? Number.NaN) - (stub.times.discoveryAt ?? Number.NaN),
      rssMb: statusMb(child.pid!, "VmRSS"),
      privateMb: statusMb(child.pid!, "RssAnon"),
    };
    return sample;
  } finally {
    // SIGTERM, as an orchestrator stops it (a process writes its compile cache by the time it exits).
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(kill);
  }
}

function compileCacheEnv(dir: string | null): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env["NODE_COMPILE_CACHE"];
  if (dir !== null) env["NODE_COMPILE_CACHE"] = dir;
  return env;
}

/** Every tree from its sources, and with --built compiled; with --compile-cache each also with a cache of its own. */
function makeVariants(dir: string): Variant[] {
  const plain = sourceTrees.flatMap(([tree, root]) => {
    const fromSources = { name: tree, kind: "", root, main: join(root, "src/cli/main.ts"), compileCache: null };
    if (!BUILT) return [fromSources];
    const out = join(dir, `built-${tree}`);
    mkdirSync(out);
    return [
      fromSources,
      { name: `${tree} built`, kind: " built", root: out, main: buildTree(root, out), compileCache: null },
    ];
  });
  if (!CACHED) return plain;
  return plain.flatMap((v, i) => [
    v,
    { ...v, name: `${v.name} cached`, kind: `${v.kind} cached`, compileCache: join(dir, `compile-cache-${i}`) },
  ]);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2 === 1
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-footprint-"));
  const stub = await startIssuerStub();
  const redis = await startRedis(dir);
  try {
    const variants = makeVariants(dir);
    const configs: Array<readonly [string, string]> = [["minimal", renderConfig(stub.issuer, {})]];
    if (typeof redis === "string") console.log(`skipped: redis + tracing (${redis})`);
    else
      configs.push([
        "redis + tracing",
        renderConfig(stub.issuer, { redis: { url: redis.url }, tracing: { enabled: true, endpoint: stub.tracesUrl } }),
      ]);
    const files = configs.map(([name, text], i) => {
      const file = join(dir, `config-${i}.json`);
      writeFileSync(file, text, { mode: 0o600 });
      return { name, file };
    });
    // A cache is warmed by one unmeasured start per config, as a first `bin/portcullis serve` would.
    for (const variant of variants.filter((v) => v.compileCache !== null))
      for (const { file } of files) await startOnce(variant, file, stub);
    const samples = new Map<string, Sample[]>();
    // Alternating (every tree and config once per run) so machine noise falls on all alike.
    for (let run = 0; run < RUNS; run++)
      for (const { name, file } of files)
        for (const variant of variants) {
          const key = `${name}|${variant.name}`;
          const list = samples.get(key) ?? [];
          list.push(await startOnce(variant, file, stub));
          samples.set(key, list);
        }
    report(
      files.map((f) => f.name),
      variants,
      samples,
    );
    mkdirSync(join(REPO, ".cache/bench"), { recursive: true });
    writeFileSync(
      join(REPO, ".cache/bench/process-footprint.json"),
      JSON.stringify({ runs: RUNS, node: process.version, variants, samples: Object.fromEntries(samples) }, null, 1),
    );
  } finally {
    if (typeof redis !== "string") redis.stop();
    await stub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const COLUMNS: ReadonlyArray<{ title: string; digits: number; of: (s: Sample) => number }> = [
  { title: "ready ms", digits: 0, of: (s) => s.readyMs },
  { title: "own start ms", digits: 0, of: (s) => s.toDiscoveryMs },
  { title: "discovery+JWKS ms", digits: 0, of: (s) => s.discoveryMs },
  { title: "RSS at ready MB", digits: 1, of: (s) => s.rssMb },
  { title: "private MB", digits: 1, of: (s) => s.privateMb },
];

function report(
  configNames: readonly string[],
  variants: readonly Variant[],
  samples: ReadonlyMap<string, Sample[]>,
): void {
  console.log(`node ${process.version}, ${RUNS} starts per row, medians (alternating runs)`);
  console.log(`${"config".padEnd(16)} ${"variant".padEnd(17)} ${COLUMNS.map((c) => c.title).join("  ")}`);
  const of = (config: string, variant: string, f: (s: Sample) => number) =>
    median((samples.get(`${config}|${variant}`) ?? []).map(f));
  for (const config of configNames)
    for (const { name } of variants) {
      const cells = COLUMNS.map((c) => of(config, name, c.of).toFixed(c.digits).padStart(c.title.length));
      console.log(`${config.padEnd(16)} ${name.padEnd(17)} ${cells.join("  ")}`);
    }
  if (BASE === "") return;
  for (const config of configNames)
    for (const kind of new Set(variants.map((v) => v.kind))) {
      const ratio = (f: (s: Sample) => number) =>
        (of(config, `this${kind}`, f) / of(config, `base${kind}`, f)).toFixed(2);
      const figures = [
        `ready ${ratio((s) => s.readyMs)}×`,
        `own start ${ratio((s) => s.toDiscoveryMs)}×`,
        `RSS ${ratio((s) => s.rssMb)}×`,
        `private ${ratio((s) => s.privateMb)}×`,
      ];
      console.log(`${config}${kind}: this/base ${figures.join(", ")}`);
    }
}

await main();
