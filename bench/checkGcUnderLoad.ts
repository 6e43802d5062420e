// Portcullis's garbage collection at a fixed Check rate: a real `serve` (src/cli/main.ts) under
// V8's GC trace (--trace-gc-nvp), driven by a grpc-js client at --rate calls/s with a cached bearer
// token, after --preload distinct tokens were checked once (a full token cache lengthens full GCs).
// Reports per variant: young collections, bytes promoted per collection, pause p50/max, full
// collections, and the client's latency p50/p99/p99.9 (from each call's due time: no coordinated
// omission), the server's CPU per call and the bytes promoted per call. Variants (node flags, and with
// --base DIR an older src/ tree, or --trees DIR,DIR… whole checkouts) run alternately; --noop adds the
// no-op grpc-js server, --noop --bare bare node:http2 with a fixed answer instead (node:http2's own floor),
// either with the first --flags set.
// Run: node --disable-warning=ExperimentalWarning bench/checkGcUnderLoad.ts [--rate 1000] [--seconds 15]
//      [--preload 5000] [--rounds 1] [--base DIR | --trees DIR,DIR] [--flags "|--max-semi-space-size=32"]
import { spawn } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_LOADER_OPTIONS } from "../src/transport/loadProtos.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { readEventLoopDelay, resetEventLoopDelay } from "./readEventLoopDelay.ts";
import { LatencyHistogram } from "./LatencyHistogram.ts";
import { renderPortcullisConfig } from "./startPortcullis.ts";
import { startJwksServer } from "./startJwksServer.ts";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const rate = Number(arg("rate", "1000"));
const seconds = Number(arg("seconds", "15"));
const preload = Number(arg("preload", "5000"));
const rounds = Number(arg("rounds", "1"));
const REPO = resolve(new URL(import.meta.url).pathname, "../..");
const trees =
  arg("trees", "") !== ""
    ? arg("trees", "")
        .split(",")
        .map((dir) => [dir, resolve(dir)])
    : arg("base", "") === ""
      ? [["this", REPO]]
      : [
          ["base", resolve(arg("base", ""), "..")],
          ["this", REPO],
        ];
const flagSets = arg("flags", "")
  .split("|")
  .map((f) => f.split(" ").filter((s) => s !== ""));
const variants = [
  // The transport floor: the no-op grpc-js Check server (bench/noopCheckServerProcess.ts), or with
  // --bare bench/bareHttp2CheckServerProcess.ts; same client, the first variant's node flags.
  ...(process.argv.includes("--noop")
    ? [
        {
          name: process.argv.includes("--bare") ? "bare node:http2 fixed answer" : "no-op grpc-js server",
          root: REPO,
          flags: flagSets[0]!,
          noop: true,
        },
      ]
    : []),
  ...trees.flatMap(([tree, root]) =>
    flagSets.map((flags) => ({
      name: `${tree}${flags.length > 0 ? ` ${flags.join(" ")}` : ""}`,
      root: root!,
      flags,
      noop: false,
    })),
  ),
];

type CheckClient = Client & { Check(req: object, cb: (err: Error | null) => void): void };
const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
const grpcRoot = loadPackageDefinition(definition) as GrpcObject;
const Ctor = ((((grpcRoot["envoy"] as GrpcObject)["service"] as GrpcObject)["auth"] as GrpcObject)["v3"] as GrpcObject)[
  "Authorization"
] as ServiceClientConstructor;

const jwks = await startJwksServer();
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
jwks.setJwks({ keys: [{ ...publicKey.export({ format: "jwk" }), kid: "gc", alg: "RS256", use: "sig" }] });
const now = Math.floor(Date.now() / 1000);
const mint = (i: number): string => {
  const part = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = `${part({ alg: "RS256", kid: "gc", typ: "JWT" })}.${part({ iss: jwks.issuer, aud: "bench-api", sub: `user-${i}`, email: `user-${i}@example.com`, scope: "openid bench", roles: ["bench"], iat: now, exp: now + 3600 })}`;
  return `${body}.${sign("sha256", Buffer.from(body), privateKey).toString("base64url")}`;
};
const cachedRequest = buildCheckRequest(mint(0), "localhost", "/x");
const preloadRequests = Array.from({ length: preload }, (_, i) => buildCheckRequest(mint(i + 1), "localhost", "/x"));
const workDir = mkdtempSync(join(tmpdir(), "portcullis-gc-"));
const configPath = join(workDir, "portcullis.yaml");
writeFileSync(
  configPath,
  renderPortcullisConfig({ issuer: jwks.issuer, audience: "bench-api", sessionKey: "k".repeat(43) }),
  { mode: 0o600 },
);

interface Figures {
  scavenges: number;
  promotedMbPerScavenge: number;
  pauseP50Ms: number;
  /** p99 of every collection's pause in the window, young and full. */
  pauseP99Ms: number;
  pauseMaxMs: number;
  fullGcs: number;
  fullPauseMaxMs: number;
  /** Every collection's pause in the window, summed, per second of load. */
  gcMsPerSecond: number;
  /** The server's peak RSS (VmHWM), MB. */
  peakRssMb: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** The server's event-loop delay p99 over the window (its /metrics; NaN for the no-op server). */
  loopDelayP99Ms: number;
  errors: number;
  /** The server's CPU (user + system) over the window, per call. */
  cpuUsPerCall: number;
  /** Every young collection's promoted bytes in the window, per call made. */
  promotedBytesPerCall: number;
}

async function measure(root: string, flags: readonly string[], noop: boolean): Promise<Figures> {
  const script = noop
    ? [
        join(
          REPO,
          process.argv.includes("--bare") ? "bench/bareHttp2CheckServerProcess.ts" : "bench/noopCheckServerProcess.ts",
        ),
      ]
    : [join(root, "src/cli/main.ts"), "serve", "--config", configPath];
  const child = spawn(
    process.execPath,
    [...flags, "--trace-gc-nvp", "--disable-warning=ExperimentalWarning", ...script],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  let measuring = false;
  const gcLines: string[] = [];
  const ready = new Promise<{ port: number; adminPort: number | null }>((done) =>
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.includes('"portcullis ready"')) {
          const { grpcPort, adminPort } = JSON.parse(line) as { grpcPort: number; adminPort: number };
          done({ port: grpcPort, adminPort });
        } else if (line.startsWith('{"port"'))
          done({ port: (JSON.parse(line) as { port: number }).port, adminPort: null });
        else if (measuring && line.includes(" gc=")) gcLines.push(line);
      }
    }),
  );
  const { port, adminPort } = await ready;
  const client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as CheckClient;
  const call = (request: object) => new Promise<Error | null>((done) => client.Check(request, done));
  // Keys load just after ready; the first first-seen check waits for them through the registry.
  for (let i = 0; i < preloadRequests.length; i += 50) await Promise.all(preloadRequests.slice(i, i + 50).map(call));
  for (let i = 0; i < 2000; i++) await call(cachedRequest);
  measuring = true;
  if (adminPort !== null) await resetEventLoopDelay(adminPort);
  // --snapshot: a heap snapshot half-way (run with --flags "--heapsnapshot-signal=SIGUSR2"): what is live mid-load.
  const snapshot = process.argv.includes("--snapshot")
    ? setTimeout(() => child.kill("SIGUSR2"), (seconds * 1000) / 2)
    : null;
  const cpu0 = await cpuMs(child.pid);
  const latency = await fixedRate(call, rate, seconds);
  const cpuUsPerCall = (((await cpuMs(child.pid)) - cpu0) * 1000) / (rate * seconds);
  const loopDelay = adminPort === null ? null : await readEventLoopDelay(adminPort);
  if (snapshot !== null) clearTimeout(snapshot);
  measuring = false;
  client.close();
  const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
  const peakRssMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  child.kill("SIGTERM");
  await new Promise((done) => child.on("close", done));
  const field = (line: string, key: string) => Number(new RegExp(`\\b${key}=([0-9.]+)`).exec(line)?.[1] ?? 0);
  if (process.argv.includes("--dump"))
    for (const l of gcLines)
      console.log(
        ["gc", "pause", "allocated", "promoted", "new_space_survived", "new_space_capacity"]
          .map((k) => `${k}=${new RegExp(`\\b${k}=(\\S+)`).exec(l)?.[1]}`)
          .join(" "),
      );
  const young = gcLines.filter((l) => / gc=s /.test(l));
  const full = gcLines.filter((l) => / gc=mc /.test(l));
  const pauses = young.map((l) => field(l, "pause")).sort((a, b) => a - b);
  const allPauses = gcLines.map((l) => field(l, "pause")).sort((a, b) => a - b);
  return {
    scavenges: young.length,
    promotedMbPerScavenge: young.reduce((s, l) => s + field(l, "promoted"), 0) / Math.max(1, young.length) / 2 ** 20,
    pauseP50Ms: pauses[Math.floor(pauses.length / 2)] ?? 0,
    pauseP99Ms: allPauses[Math.min(allPauses.length - 1, Math.floor(allPauses.length * 0.99))] ?? 0,
    pauseMaxMs: pauses.at(-1) ?? 0,
    fullGcs: full.length,
    fullPauseMaxMs: Math.max(0, ...full.map((l) => field(l, "pause"))),
    gcMsPerSecond: gcLines.reduce((sum, l) => sum + field(l, "pause"), 0) / seconds,
    peakRssMb,
    cpuUsPerCall,
    promotedBytesPerCall: young.reduce((s, l) => s + field(l, "promoted"), 0) / (rate * seconds),
    loopDelayP99Ms: loopDelay?.p99Ms ?? Number.NaN,
    ...latency,
  };
}

/** A process's CPU time (user + system) from /proc, in ms (clock ticks of 10 ms). */
async function cpuMs(pid: number | undefined): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Open loop: call i is due at start + i/rate; latency from its due time. */
async function fixedRate(call: (request: object) => Promise<Error | null>, perSecond: number, duration: number) {
  const histogram = new LatencyHistogram();
  const total = perSecond * duration;
  let errors = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let sent = 0; sent < total;) {
    const nowMs = performance.now();
    while (sent < total && start + (sent * 1000) / perSecond <= nowMs) {
      const due = start + (sent * 1000) / perSecond;
      pending.push(
        call(cachedRequest).then((err) => {
          if (err) errors += 1;
          else histogram.recordMs(performance.now() - due);
        }),
      );
      sent += 1;
    }
    await new Promise((done) => setTimeout(done, 1));
  }
  await Promise.all(pending);
  const s = histogram.summary();
  return { p50Ms: s.p50Ms, p99Ms: s.p99Ms, p999Ms: s.p999Ms, errors };
}

const results = new Map<string, Figures[]>(variants.map((v) => [v.name, []]));
for (let r = 0; r < rounds; r++)
  for (const v of r % 2 === 0 ? variants : [...variants].reverse())
    results.get(v.name)!.push(await measure(v.root, v.flags, v.noop));
await jwks.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `${rate} Check/s for ${seconds} s after ${preload} distinct tokens, cached token; median of ${rounds} round(s):`,
);
console.log(
  "variant                                                       young  MB promoted/young  pause p50/max ms  GC pause p99 ms  full  full max ms  GC ms/s  peak RSS MB  p50 ms  p99 ms  p99.9 ms  loop p99 ms  errors",
);
for (const [name, runs] of results) {
  const of = (k: keyof Figures) => median(runs.map((f) => f[k]));
  console.log(
    `${name.padEnd(61)} ${String(of("scavenges")).padStart(5)}  ${of("promotedMbPerScavenge").toFixed(2).padStart(15)}  ${`${of("pauseP50Ms").toFixed(1)}/${of("pauseMaxMs").toFixed(1)}`.padStart(16)}  ${of("pauseP99Ms").toFixed(1).padStart(15)}  ${String(of("fullGcs")).padStart(4)}  ${of("fullPauseMaxMs").toFixed(1).padStart(11)}  ${of("gcMsPerSecond").toFixed(1).padStart(7)}  ${of("peakRssMb").toFixed(0).padStart(11)}  ${of("p50Ms").toFixed(2).padStart(6)}  ${of("p99Ms").toFixed(2).padStart(6)}  ${of("p999Ms").toFixed(2).padStart(8)}  ${of("loopDelayP99Ms").toFixed(2).padStart(10)}  ${of("errors")}  cpu us/call ${of("cpuUsPerCall").toFixed(0)}  promoted B/call ${of("promotedBytesPerCall").toFixed(0)}`,
  );
}
