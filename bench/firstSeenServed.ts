// Server CPU per Check for first-seen bearer tokens beside a cached one, on a real `serve` process
// over gRPC (no Envoy): a stream of distinct valid RS256 tokens, each sent once, then one token sent
// as often, `--connections` calls in flight. With --baseline REF a second serve runs src/oidc as it
// was at REF (the rest of this tree as is), batches alternating between the two. CPU from /proc.
// With --profile DIR the serve process of this tree runs with --cpu-prof (its profile lands in DIR
// at exit), the measured rounds send first-seen tokens only, and the profile's self time is summed
// as bench/profileFirstSeen.ts does (start-up and warm-up included: read the Check path's rows).
// With --rate R both streams are sent open loop at R per second instead (as Envoy's ext_authz calls
// arrive), and the cached token also at 2R: CPU per check depends on the rate, not only the token.
// Run: node --disable-warning=ExperimentalWarning bench/firstSeenServed.ts [--tokens 1500] [--rounds 3] [--connections 16] [--rate R] [--baseline REF [--baseline-dirs src/oidc,src/identity]] [--profile DIR]
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  credentials,
  loadPackageDefinition,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_LOADER_OPTIONS } from "../src/transport/loadProtos.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { extractOidcBaseline } from "./extractOidcBaseline.ts";
import { readProcessCpuSeconds } from "./readProcessCpuSeconds.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { BENCH_ROUTE_PATH, startPortcullis } from "./startPortcullis.ts";
import { summarizeCpuProfile } from "./summarizeCpuProfile.ts";

const arg = (name: string): string | undefined =>
  process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : undefined;
const TOKENS = Number(arg("tokens")) || 1500;
const ROUNDS = Number(arg("rounds")) || 3;
const CONNECTIONS = Number(arg("connections")) || 16;
const BASELINE = arg("baseline");
/** Which folders of src/ the baseline takes at its ref (comma-separated; default src/oidc). */
const BASELINE_DIRS = (arg("baseline-dirs") ?? "src/oidc").split(",");
const PROFILE_DIR = arg("profile");
let profiledPid: number | undefined;
/** Requests per second, open loop (each sent on schedule whatever is in flight), instead of a closed loop. */
const RATE = arg("rate") === undefined ? undefined : Number(arg("rate"));
const here = fileURLToPath(new URL("..", import.meta.url));

type CheckClient = Client & {
  Check(req: object, cb: (err: ServiceError | null, res?: { status?: { code?: number } }) => void): void;
};

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
let serial = 0;

/** A distinct access token shaped like a real IdP's, signed with the bench key. */
function mint(issuer: string): string {
  serial += 1;
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: "RS256", kid: "bench-served", typ: "JWT" })}.${b64({
    iss: issuer,
    aud: ["bench-api", "account"],
    sub: `user-${serial}`,
    azp: "bench-web",
    scope: "openid profile email bench.read",
    email: `user${serial}@example.com`,
    roles: ["bench", "reader"],
    jti: `served-${serial}-${now}`,
    iat: now,
    exp: now + 3600,
  })}`;
  return `${input}.${sign("sha256", Buffer.from(input), rsa.privateKey).toString("base64url")}`;
}

/** Sends every request once: at `rate` per second (open loop) when given, else `CONNECTIONS` in flight. */
async function send(client: CheckClient, requests: readonly object[], rate = RATE): Promise<number> {
  if (rate !== undefined) return sendAtRate(client, requests, rate);
  let next = 0;
  let allowed = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const code = await new Promise<number | undefined>((resolve, reject) =>
        client.Check(request, (err, res) => (err ? reject(err) : resolve(res?.status?.code))),
      );
      if (code === 0 || code === undefined) allowed += 1;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return allowed;
}

/** Request i leaves at i/rate s after the first, as a fixed-rate load generator sends; resolves with how many were allowed. */
async function sendAtRate(client: CheckClient, requests: readonly object[], rate: number): Promise<number> {
  const started = performance.now();
  const answers: Promise<number | undefined>[] = [];
  for (let i = 0; i < requests.length; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    answers.push(
      new Promise((resolve, reject) =>
        client.Check(requests[i]!, (err, res) => (err ? reject(err) : resolve(res?.status?.code))),
      ),
    );
  }
  return (await Promise.all(answers)).filter((code) => code === 0 || code === undefined).length;
}

const group = new ChildProcessGroup();
const workDir = mkdtempSync(join(tmpdir(), "portcullis-first-seen-"));
const jwks = await startJwksServer();
try {
  jwks.setJwks({
    keys: [{ ...rsa.publicKey.export({ format: "jwk" }), kid: "bench-served", alg: "RS256", use: "sig" }],
  });
  const setup = { issuer: jwks.issuer, audience: "bench-api", sessionKey: randomBytes(32).toString("base64") };
  const trees = [{ name: "this tree", root: here }];
  if (BASELINE !== undefined)
    trees.push({ name: `oidc@${BASELINE}`, root: extractOidcBaseline(BASELINE, BASELINE_DIRS) });
  const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
  const grpcRoot = loadPackageDefinition(definition) as GrpcObject;
  const Authorization = (((grpcRoot["envoy"] as GrpcObject)["service"] as GrpcObject)["auth"] as GrpcObject)[
    "v3"
  ] as GrpcObject;
  const Ctor = Authorization["Authorization"] as ServiceClientConstructor;
  interface Served {
    readonly name: string;
    readonly pid: number | undefined;
    readonly client: CheckClient;
    readonly firstSeen: number[];
    readonly cached: number[];
    /** With --rate: the cached token at twice the rate (shows what the rate alone changes). */
    readonly cachedAtDouble: number[];
  }
  const servers: Served[] = [];
  for (const tree of trees) {
    const profiled = PROFILE_DIR !== undefined && tree.root === here;
    const nodeArgs = profiled ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, "--cpu-prof-interval=100"] : [];
    const server = await startPortcullis(
      group,
      tree.root,
      mkdtempSync(join(workDir, "s-")),
      setup,
      "portcullis",
      nodeArgs,
    );
    if (profiled) profiledPid = server.pid;
    const client = new Ctor(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure()) as unknown as CheckClient;
    servers.push({ ...tree, pid: server.pid, client, firstSeen: [], cached: [], cachedAtDouble: [] });
  }
  const cachedRequest = buildCheckRequest(mint(jwks.issuer), "localhost", BENCH_ROUTE_PATH);
  const measure = async (server: Served, requests: readonly object[], rate = RATE): Promise<number> => {
    const before = readProcessCpuSeconds(server.pid) ?? 0;
    const allowed = await send(server.client, requests, rate);
    const after = readProcessCpuSeconds(server.pid) ?? 0;
    if (allowed !== requests.length) throw new Error(`${server.name}: ${requests.length - allowed} checks not allowed`);
    return ((after - before) / requests.length) * 1e6;
  };
  const batch = () =>
    Array.from({ length: TOKENS }, () => buildCheckRequest(mint(jwks.issuer), "localhost", BENCH_ROUTE_PATH));
  const cachedBatch = Array.from({ length: TOKENS }, () => cachedRequest);
  const doubleBatch = [...cachedBatch, ...cachedBatch];
  // Warm-up (JIT, connections, the cached token enters each cache), not reported.
  const warm = batch();
  for (const server of servers) {
    await measure(server, warm);
    await measure(server, cachedBatch);
  }
  for (let round = 0; round < ROUNDS; round++) {
    const tokens = batch(); // the same distinct tokens for each server, first seen by each
    for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
      server.firstSeen.push(await measure(server, tokens));
      // Profiled, the rounds send first-seen tokens only, so the profile is theirs (cached: warm-up only).
      server.cached.push(PROFILE_DIR === undefined ? await measure(server, cachedBatch) : Number.NaN);
      if (RATE !== undefined) server.cachedAtDouble.push(await measure(server, doubleBatch, 2 * RATE));
    }
    console.log(
      `round ${round + 1}: ${servers.map((s) => `${s.name} first-seen ${s.firstSeen.at(-1)!.toFixed(0)} µs, cached ${s.cached.at(-1)!.toFixed(0)} µs`).join("; ")}`,
    );
  }
  const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `\nserver CPU per Check (µs, median of ${ROUNDS} rounds of ${TOKENS}, ${RATE === undefined ? `${CONNECTIONS} in flight` : `${RATE}/s`}, direct gRPC):`,
  );
  for (const s of servers) {
    const extra = median(s.firstSeen.map((v, i) => v - s.cached[i]!));
    console.log(
      `${s.name}: first-seen RS256 ${median(s.firstSeen).toFixed(0)}, cached ${median(s.cached).toFixed(0)}, first-seen − cached ${extra.toFixed(0)}`,
    );
    if (RATE !== undefined)
      console.log(`${s.name}: cached at ${2 * RATE}/s ${median(s.cachedAtDouble).toFixed(0)} (the rate alone)`);
  }
  if (servers.length === 2) {
    const [a, b] = servers as [Served, Served];
    const ratio = median(a.firstSeen.map((v, i) => v / b.firstSeen[i]!));
    console.log(`first-seen CPU, this tree / ${b.name}: ${ratio.toFixed(2)}× (per-round ratios, median)`);
  }
  for (const s of servers) s.client.close();
} finally {
  if (PROFILE_DIR !== undefined) await stopProfiled(PROFILE_DIR);
  await group.stopAll();
  await jwks.close();
  rmSync(workDir, { recursive: true, force: true });
}
if (PROFILE_DIR !== undefined) printProfile(PROFILE_DIR);

/** SIGTERM to the profiled serve, then waits (its drain period included) for its profile to be written. */
async function stopProfiled(dir: string): Promise<void> {
  const pid = profiledPid;
  if (pid === undefined) return;
  const before = profilesIn(dir).length;
  process.kill(pid, "SIGTERM");
  for (let waited = 0; profilesIn(dir).length === before && waited < 60_000; waited += 100)
    await new Promise((resolve) => setTimeout(resolve, 100));
}

function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .map((name) => join(dir, name));
}

/** The newest profile in `dir`, summed by what the samples did and by function. */
function printProfile(dir: string): void {
  const newest = profilesIn(dir).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (newest === undefined) throw new Error(`no .cpuprofile in ${dir}: did serve exit cleanly?`);
  const summary = summarizeCpuProfile(JSON.parse(readFileSync(newest, "utf8")));
  const busyUs = summary.totalUs - (summary.byCategory.find(([what]) => what === "(idle)")?.[1] ?? 0);
  const share = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)} %`;
  console.log(`\n${newest}: start-up, warm-up and the first-seen rounds; share of the busy time, by what it does:`);
  for (const [what, us] of summary.byCategory.slice(0, 40)) console.log(`  ${share(us)}  ${what}`);
  console.log("\nself time by function:");
  for (const [where, us] of summary.byFunction.slice(0, 40)) console.log(`  ${share(us)}  ${where}`);
}
