// Where a first-seen RS256 bearer check's CPU goes: a stream of distinct valid tokens through the
// whole in-process Check pipeline (decode → gate → verify → observe → encode, no sockets), profiled
// with the V8 sampling profiler over the measured batches only (minting and warm-up excluded), then
// self time per check by function and by what it does (signature, hashing, JSON, GC …), then the
// V8 heap each function allocates per check (a sampling heap profile of the next batch, garbage
// included). Also the floor: node:crypto's RS256 verify alone on the same tokens.
// Run (--expose-gc adds the heap each token leaves behind):
//   node --expose-gc --disable-warning=ExperimentalWarning bench/profileFirstSeen.ts [--tokens 3000] [--out first-seen.cpuprofile] [--top 30] [--tree DIR]
import { generateKeyPairSync, sign, verify } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Session, type HeapProfiler, type Profiler } from "node:inspector/promises";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { pathToFileURL } from "node:url";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { summarizeCpuProfile, summarizeHeapProfile } from "./summarizeCpuProfile.ts";
import { realisticAccessTokenClaims } from "./realisticAccessTokenClaims.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
};
const TOKENS = Number(arg("tokens")) || 3000;
const TOP = Number(arg("top")) || 30;
const OUT = arg("out");
/** Another copy of the tree to profile (e.g. bench/extractOidcBaseline.ts's), for a before beside an after. */
const TREE = arg("tree");
const src = (path: string) =>
  TREE === undefined ? new URL(`../src/${path}`, import.meta.url).href : pathToFileURL(`${TREE}/src/${path}`).href;
const { buildCheckPipeline } = await import(src("app/buildCheckPipeline.ts"));
const { parseConfig } = await import(src("config/parseConfig.ts"));
const { createLogger } = await import(src("observability/createLogger.ts"));
const { decodeCheckRequest } = await import(src("transport/decodeCheckRequest.ts"));

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwks = await startJwksServer();
jwks.setJwks({ keys: [{ ...rsa.publicKey.export({ format: "jwk" }), kid: "bench-rs256", alg: "RS256", use: "sig" }] });
const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = Math.floor(Date.now() / 1000);
let serial = 0;

/** The same token shape as bench/firstSeenToken.ts (about 800 bytes, like a real IdP's). */
function mint(): string {
  serial += 1;
  const header = b64({ alg: "RS256", kid: "bench-rs256", typ: "JWT" });
  const payload = b64(realisticAccessTokenClaims(jwks.issuer, serial, now));
  const input = `${header}.${payload}`;
  return `${input}.${sign("sha256", Buffer.from(input), rsa.privateKey).toString("base64url")}`;
}

const parsed = parseConfig({
  providers: {
    bench: { issuer: jwks.issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true },
  },
  routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
  tokenCache: { maxEntries: 100_000 },
  log: { level: "warn" },
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const pipeline = buildCheckPipeline(parsed.config, createLogger("warn"));
await pipeline.registry.start();
const method = checkMethodDefinition;

let allowed = 0;
let resolveCheck: () => void = () => undefined;
const callback: sendUnaryData<unknown> = (_err, response) => {
  if ((response as Buffer)[4] === 0x1a) allowed += 1; // ok_response follows the 4-byte status
  resolveCheck();
};
async function checkAll(requests: readonly Buffer[]): Promise<void> {
  for (const wire of requests) {
    const done = new Promise<void>((resolve) => (resolveCheck = resolve));
    pipeline.handlers["Check"](
      { request: decodeCheckRequest(wire) } as ServerUnaryCall<never, unknown> as never,
      callback,
    );
    await done;
  }
}
const batch = (tokens: readonly string[]) =>
  tokens.map((token) => method.requestSerialize(buildCheckRequest(token, "localhost", "/x")));

const tokens = Array.from({ length: 2 * TOKENS }, mint);
const [warm, measured] = [batch(tokens.slice(0, TOKENS)), batch(tokens.slice(TOKENS))];
await checkAll(warm); // JIT and caches, not profiled

// The floor: the RS256 signature check alone, on this stream's own signing inputs.
const key = rsa.publicKey;
const inputs = tokens.slice(TOKENS).map((t) => {
  const last = t.lastIndexOf(".");
  return [Buffer.from(t.slice(0, last)), Buffer.from(t.slice(last + 1), "base64url")] as const;
});
const floorStart = process.cpuUsage();
for (const [input, signature] of inputs) if (!verify("sha256", input, key, signature)) throw new Error("floor");
const floor = process.cpuUsage(floorStart);

// With --expose-gc: the V8 heap each first-seen token leaves behind (cache entry, claims, reused answer).
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 50 });
await session.post("Profiler.start");
const cpu = process.cpuUsage();
await checkAll(measured.slice(0, TOKENS / 2));
const used = process.cpuUsage(cpu);
const { profile } = (await session.post("Profiler.stop")) as { profile: Profiler.Profile };
// The other half under the sampling heap profiler (garbage included): which code allocates what.
await session.post("HeapProfiler.enable");
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await checkAll(measured.slice(TOKENS / 2));
const { profile: heap } = (await session.post("HeapProfiler.stopSampling")) as {
  profile: HeapProfiler.SamplingHeapProfile;
};
session.disconnect();
gc?.();
const retainedKb = gc === undefined ? undefined : (process.memoryUsage().heapUsed - heapBefore) / TOKENS / 1024;
pipeline.registry.close();
await jwks.close();
if (allowed !== 2 * TOKENS) throw new Error(`${2 * TOKENS - allowed} first-seen checks were not allowed`);
if (OUT !== undefined) writeFileSync(OUT, JSON.stringify(profile));

const perCheck = (micros: number) => (micros / (TOKENS / 2)).toFixed(1);
console.log(`${TOKENS} first-seen RS256 checks, in process: ${perCheck(used.user + used.system)} µs CPU per check`);
console.log(`RS256 verify alone (node:crypto, same inputs): ${perCheck(floor.user + floor.system)} µs`);
if (retainedKb !== undefined) console.log(`V8 heap kept per first-seen token: ${retainedKb.toFixed(2)} KB`);
const summary = summarizeCpuProfile(profile);
console.log(`\nprofiled ${perCheck(summary.totalUs)} µs per check; by what it does:`);
for (const [what, us] of summary.byCategory) console.log(`  ${perCheck(us).padStart(6)} µs  ${what}`);
console.log(`\nself time by function (top ${TOP}):`);
for (const [where, us] of summary.byFunction.slice(0, TOP)) console.log(`  ${perCheck(us).padStart(6)} µs  ${where}`);
const allocated = summarizeHeapProfile(heap);
const kb = (bytes: number) => (bytes / (TOKENS / 2) / 1024).toFixed(2);
console.log(
  `\nV8 heap allocated: ${kb(allocated.totalBytes)} KB per check (garbage included), by function (top ${TOP}):`,
);
for (const [where, bytes] of allocated.byFunction.slice(0, TOP)) console.log(`  ${kb(bytes).padStart(6)} KB  ${where}`);
