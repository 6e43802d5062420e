// What a bearer token costs the first time Portcullis sees it, beside a cached one: a stream of
// distinct valid RS256 and ES256 tokens through the provider registry's verify() and through the
// whole Check pipeline (decode → gate → observe → encode, no sockets), µs of CPU (all threads, so
// work sent to libuv's pool is counted), wall µs and V8 heap bytes allocated per token.
// With --baseline REF the same figures are taken, alternating round by round, for src/oidc as it
// was at REF (the rest of src/ as in this tree), so before and after come from one run.
// Run: node --disable-warning=ExperimentalWarning bench/firstSeenToken.ts [--tokens 400] [--rounds 5] [--baseline REF [--baseline-dirs src/oidc,src/identity]]
import { generateKeyPairSync, sign } from "node:crypto";
import { pathToFileURL } from "node:url";
import { GCProfiler, getHeapStatistics } from "node:v8";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { extractOidcBaseline } from "./extractOidcBaseline.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { realisticAccessTokenClaims } from "./realisticAccessTokenClaims.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
};
const TOKENS = Number(arg("tokens")) || 400;
const ROUNDS = Number(arg("rounds")) || 5;
const BASELINE = arg("baseline");
/** Which folders of src/ the baseline takes at its ref (comma-separated; default src/oidc). */
const BASELINE_DIRS = (arg("baseline-dirs") ?? "src/oidc").split(",");

// --- keys, issuer and a stream of distinct tokens --------------------------------------------------
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwks = await startJwksServer();
jwks.setJwks({
  keys: [
    { ...rsa.publicKey.export({ format: "jwk" }), kid: "bench-rs256", alg: "RS256", use: "sig" },
    { ...ec.publicKey.export({ format: "jwk" }), kid: "bench-es256", alg: "ES256", use: "sig" },
  ],
});
const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
let serial = 0;

/** A signed access token shaped like a real IdP's (about 800 bytes), distinct by its jti and sub. */
function mint(alg: "RS256" | "ES256"): string {
  serial += 1;
  const header = b64({ alg, kid: alg === "RS256" ? "bench-rs256" : "bench-es256", typ: "JWT" });
  const payload = b64(realisticAccessTokenClaims(jwks.issuer, serial, now));
  const input = `${header}.${payload}`;
  // JWS carries an ECDSA signature as r‖s (IEEE P1363), not DER.
  const signature =
    alg === "RS256"
      ? sign("sha256", Buffer.from(input), rsa.privateKey)
      : sign("sha256", Buffer.from(input), { key: ec.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

// --- the code under test: this tree, and optionally src/oidc at the baseline ref -------------------
interface Implementation {
  readonly name: string;
  readonly root: URL;
}

const implementations: Implementation[] = [{ name: "this tree", root: new URL("../src/", import.meta.url) }];
if (BASELINE !== undefined)
  implementations.push({
    name: `oidc@${BASELINE}`,
    root: pathToFileURL(`${extractOidcBaseline(BASELINE, BASELINE_DIRS)}/src/`),
  });

const method = checkMethodDefinition;

interface Verifier {
  verify(token: string, accepted: readonly string[]): Promise<{ ok: boolean; code?: string }>;
}
interface Subject {
  readonly impl: Implementation;
  /** A registry of its own (its own cache), for verify() alone. */
  readonly registry: Verifier;
  /** One Check after another through the whole pipeline; resolves when the last is answered. */
  check(requests: readonly Buffer[]): Promise<void>;
  readonly counts: { allowed: number; answered: number };
  close(): void;
}

async function startSubject(impl: Implementation): Promise<Subject> {
  const { parseConfig } = await import(new URL("config/parseConfig.ts", impl.root).href);
  const { buildCheckPipeline } = await import(new URL("app/buildCheckPipeline.ts", impl.root).href);
  const { createLogger } = await import(new URL("observability/createLogger.ts", impl.root).href);
  const { decodeCheckRequest } = await import(new URL("transport/decodeCheckRequest.ts", impl.root).href);
  const parsed = parseConfig({
    providers: {
      bench: { issuer: jwks.issuer, audiences: ["bench-api"], algorithms: ["RS256", "ES256"], allowInsecureHttp: true },
    },
    routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
    tokenCache: { maxEntries: 100_000 },
    log: { level: "warn" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const forVerify = buildCheckPipeline(parsed.config, createLogger("warn"));
  const forCheck = buildCheckPipeline(parsed.config, createLogger("warn"));
  await Promise.all([forVerify.registry.start(), forCheck.registry.start()]);
  const counts = { allowed: 0, answered: 0 };
  let resolveCheck: () => void = () => undefined;
  const callback: sendUnaryData<unknown> = (_err, response) => {
    // The handler answers with the CheckResponse bytes: ok_response (tag 0x1a) follows the 4-byte status.
    counts.answered += 1;
    if ((response as Buffer)[4] === 0x1a) counts.allowed += 1;
    resolveCheck();
  };
  return {
    impl,
    registry: forVerify.registry,
    counts,
    async check(requests) {
      for (const wire of requests) {
        const done = new Promise<void>((resolve) => (resolveCheck = resolve));
        const call = { request: decodeCheckRequest(wire) } as ServerUnaryCall<never, unknown>;
        forCheck.handlers["Check"](call as never, callback);
        await done;
      }
    },
    close() {
      forVerify.registry.close();
      forCheck.registry.close();
    },
  };
}

// --- measuring -------------------------------------------------------------------------------------
interface Sample {
  readonly cpuUs: number;
  readonly wallUs: number;
  readonly bytes: number;
}

/** CPU (all threads), wall time and V8 heap bytes allocated per operation over one batch. */
async function measure(count: number, body: () => Promise<void>): Promise<Sample> {
  const profiler = new GCProfiler();
  const heapBefore = getHeapStatistics().used_heap_size;
  profiler.start();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await body();
  const wallNs = Number(process.hrtime.bigint() - started);
  const used = process.cpuUsage(cpu);
  const heapAfter = getHeapStatistics().used_heap_size;
  const gcs = profiler.stop()?.statistics ?? [];
  // Bytes allocated = growth between collections, summed: what each GC found minus what the last left.
  let bytes = 0;
  let floor = heapBefore;
  for (const gc of gcs) {
    bytes += gc.beforeGC.heapStatistics.usedHeapSize - floor;
    floor = gc.afterGC.heapStatistics.usedHeapSize;
  }
  bytes += heapAfter - floor;
  return { cpuUs: (used.user + used.system) / count, wallUs: wallNs / 1000 / count, bytes: bytes / count };
}

async function verifyAll(registry: Verifier, tokens: readonly string[]): Promise<void> {
  for (const token of tokens) {
    const outcome = await registry.verify(token, []);
    if (!outcome.ok) throw new Error(`a valid token was refused: ${outcome.code}`);
  }
}

const requestOf = (token: string): Buffer => method.requestSerialize(buildCheckRequest(token, "localhost", "/x"));
const scenarios = [
  "verify RS256",
  "verify ES256",
  "check RS256",
  "check ES256",
  "verify cached",
  "check cached",
] as const;
type Scenario = (typeof scenarios)[number];

/** One batch of each scenario; first-seen batches take `TOKENS` tokens minted for this round. */
async function runRound(subject: Subject, batch: Record<"RS256" | "ES256", readonly string[]>, cached: string) {
  const results = new Map<Scenario, Sample>();
  const rsRequests = batch.RS256.map(requestOf);
  const esRequests = batch.ES256.map(requestOf);
  const cachedRequests = Array.from({ length: TOKENS }, () => requestOf(cached));
  const before = subject.counts.allowed;
  results.set("verify RS256", await measure(TOKENS, () => verifyAll(subject.registry, batch.RS256)));
  results.set("verify ES256", await measure(TOKENS, () => verifyAll(subject.registry, batch.ES256)));
  results.set("check RS256", await measure(TOKENS, () => subject.check(rsRequests)));
  results.set("check ES256", await measure(TOKENS, () => subject.check(esRequests)));
  const cachedTokens = Array.from({ length: TOKENS }, () => cached);
  results.set("verify cached", await measure(TOKENS, () => verifyAll(subject.registry, cachedTokens)));
  results.set("check cached", await measure(TOKENS, () => subject.check(cachedRequests)));
  if (subject.counts.allowed - before !== 3 * TOKENS) throw new Error(`${subject.impl.name}: a check was not allowed`);
  return results;
}

const subjects = await Promise.all(implementations.map(startSubject));
const cachedToken = mint("RS256");
// Warm-up round (JIT, caches), not reported; the cached token enters every cache here.
const batchOf = () => ({
  RS256: Array.from({ length: TOKENS }, () => mint("RS256")),
  ES256: Array.from({ length: TOKENS }, () => mint("ES256")),
});
const warm = batchOf();
for (const subject of subjects) await runRound(subject, warm, cachedToken);
const samples = new Map<Subject, Map<Scenario, Sample>[]>(subjects.map((s) => [s, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Every implementation gets the same tokens, each first seen by it; the order alternates per round.
  const batch = batchOf();
  const order = round % 2 === 0 ? subjects : [...subjects].reverse();
  for (const subject of order) samples.get(subject)!.push(await runRound(subject, batch, cachedToken));
}
for (const subject of subjects) subject.close();
await jwks.close();

// --- report ----------------------------------------------------------------------------------------
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const figure = (subject: Subject, scenario: Scenario, pick: (s: Sample) => number): number =>
  median(samples.get(subject)!.map((round) => pick(round.get(scenario)!)));
console.log(`first-seen tokens: ${TOKENS} per batch, ${ROUNDS} rounds (+1 warm-up), medians; CPU counts every thread`);
for (const subject of subjects) {
  console.log(`\n${subject.impl.name}`);
  console.log("scenario          CPU µs   wall µs   KB allocated");
  for (const scenario of scenarios) {
    const cpu = figure(subject, scenario, (s) => s.cpuUs).toFixed(1);
    const wall = figure(subject, scenario, (s) => s.wallUs).toFixed(1);
    const kb = (figure(subject, scenario, (s) => s.bytes) / 1024).toFixed(1);
    console.log(`${scenario.padEnd(16)} ${cpu.padStart(7)} ${wall.padStart(9)} ${kb.padStart(13)}`);
  }
  // The goal's figure: a first-seen check's CPU above a cached one's, per round, then the median.
  const extra = median(
    samples.get(subject)!.map((round) => round.get("check RS256")!.cpuUs - round.get("check cached")!.cpuUs),
  );
  console.log(`first-seen RS256 check − cached check: ${extra.toFixed(1)} µs CPU`);
}
if (subjects.length === 2) {
  const [current, baseline] = subjects as [Subject, Subject];
  console.log(`\nthis tree / ${baseline.impl.name}, CPU per round then median:`);
  for (const scenario of scenarios) {
    const ratio = median(
      samples
        .get(current)!
        .map((round, i) => round.get(scenario)!.cpuUs / samples.get(baseline)![i]!.get(scenario)!.cpuUs),
    );
    console.log(`${scenario.padEnd(16)} ${ratio.toFixed(2)}×`);
  }
}
