// Bytes allocated and promoted per check on the in-process Check pipeline (decode a CheckRequest →
// gate → observer → encode, as bench/checkPath.ts), read from V8's own GC trace (--trace-gc-nvp:
// each collection's `allocated`, `promoted`, pause). Phases: a cached bearer token, a stream of
// distinct valid tokens (first seen, then cached), and distinct tokens with a bad signature.
// Each measurement is a child process; with `--base DIR` (another src/ tree, e.g. an older commit
// unpacked under .cache/) the two trees run alternately, round after round, in one run.
// Run: node --disable-warning=ExperimentalWarning bench/checkAllocation.ts [--base DIR] [--rounds 3]
//      [--checks 20000] [--tokens 3000] [--semi-space MB[,MB…]]
import { spawn } from "node:child_process";
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { startJwksServer } from "./startJwksServer.ts";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const SELF = new URL(import.meta.url).pathname;
const HERE_SRC = resolve(SELF, "../../src");

interface Spec {
  readonly tree: string;
  readonly issuer: string;
  readonly tokensFile: string;
  readonly checks: number;
}
interface Tokens {
  readonly cached: string;
  readonly distinct: readonly string[];
  readonly forged: readonly string[];
}
/** One phase as the GC trace saw it, per check. */
interface PhaseFigures {
  readonly checks: number;
  readonly allocatedPerCheck: number;
  readonly promotedPerCheck: number;
  readonly scavenges: number;
  readonly scavengePauseMs: number;
  /** Old-space bytes still live after a full GC, per check of the phase (what the phase keeps). */
  readonly retainedPerCheck: number;
  readonly usPerCheck: number;
}
type ChildResult = Record<string, PhaseFigures>;

if (process.argv.includes("--child")) await runChild(JSON.parse(arg("child", "{}")) as Spec);
else await runParent();

// ---------------------------------------------------------------------------------------------------
// Child: one src tree, every phase, a marker line around each so the parent can attribute GC lines.

async function runChild(spec: Spec): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  const tokens = JSON.parse(readFileSync(spec.tokensFile, "utf8")) as Tokens;
  const { buildCheckPipeline } = (await import(
    join(spec.tree, "app/buildCheckPipeline.ts")
  )) as typeof import("../src/app/buildCheckPipeline.ts");
  const { parseConfig } = (await import(
    join(spec.tree, "config/parseConfig.ts")
  )) as typeof import("../src/config/parseConfig.ts");
  const { createLogger } = (await import(
    join(spec.tree, "observability/createLogger.ts")
  )) as typeof import("../src/observability/createLogger.ts");
  const protoLoader = await import("@grpc/proto-loader");
  const { PROTO_LOADER_OPTIONS } = await import("../src/transport/loadProtos.ts");
  const parsed = parseConfig({
    providers: {
      bench: { issuer: spec.issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true },
    },
    routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
    log: { level: "info" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  // Denials are logged at info in a deployment; the lines go to /dev/null so their cost is counted.
  const pipeline = buildCheckPipeline(
    parsed.config,
    createLogger("info", {
      write: (l: string) => {
        if (process.env["ALLOC_DEBUG"]) process.stderr.write(l);
      },
    } as never),
  );
  await pipeline.registry.start();
  const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
  const method = (
    definition["envoy.service.auth.v3.Authorization"] as Record<
      string,
      import("@grpc/proto-loader").MethodDefinition<object, object>
    >
  )["Check"]!;
  const wireOf = (token: string) => method.requestSerialize(buildCheckRequest(token, "localhost", "/x"));
  // The server's own (de)serializers when the tree has them (a custom codec), else proto-loader's.
  const served = await import(join(spec.tree, "transport/authorizationServiceDefinition.ts")).then(
    (m: { AUTHORIZATION_SERVICE_DEFINITION: Record<string, { requestDeserialize(b: Buffer): unknown }> }) =>
      m.AUTHORIZATION_SERVICE_DEFINITION["Check"]!,
    () => method,
  );
  const check = pipeline.handlers["Check"] as (call: object, cb: (e: unknown, r: unknown) => void) => void;
  let allowed = 0;
  const runOne = (wire: Buffer) =>
    new Promise<void>((done) =>
      check({ request: served.requestDeserialize(wire) }, (_e, response) => {
        // A response object is encoded here, as grpc-js would; bytes were encoded by the handler.
        const bytes = Buffer.isBuffer(response) ? response : method.responseSerialize(response as object);
        if (isOkResponse(bytes)) allowed += 1;
        done();
      }),
    );
  const phase = async (name: string, wires: readonly Buffer[], n: number): Promise<void> => {
    gc();
    const before = process.memoryUsage().heapUsed;
    console.log(`@begin ${name} ${n}`);
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await runOne(wires[i % wires.length]!);
    const us = Number(process.hrtime.bigint() - started) / 1000 / n;
    console.log(`@end ${name}`);
    gc();
    console.log(`@closed ${name} ${us} ${process.memoryUsage().heapUsed - before}`);
  };
  const cached = [wireOf(tokens.cached)];
  for (let i = 0; i < 5000; i++) await runOne(cached[0]!); // JIT and cache warm
  if (allowed !== 5000) throw new Error(`cached: ${allowed} of 5000 allowed`);
  await phase("cached", cached, spec.checks);
  const distinct = tokens.distinct.map(wireOf);
  allowed = 0;
  await phase("firstSeen", distinct, distinct.length);
  if (allowed !== distinct.length) throw new Error(`first-seen: ${allowed} of ${distinct.length} allowed`);
  await phase("cachedAmongMany", distinct, spec.checks);
  allowed = 0;
  await phase("forged", tokens.forged.map(wireOf), tokens.forged.length);
  if (allowed !== 0) throw new Error("a forged token was allowed");
  pipeline.registry.close();
}

/** Whether an encoded CheckResponse carries ok_response (field 3); every top-level field is a message. */
function isOkResponse(bytes: Buffer): boolean {
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++]!;
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[i++]!;
      length |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    if (tag === 0x1a) return true;
    i += length;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Parent: tokens, the issuer stub, children in alternating rounds, the GC trace read back.

async function runParent(): Promise<void> {
  const rounds = Number(arg("rounds", "3"));
  const checks = Number(arg("checks", "20000"));
  const tokenCount = Number(arg("tokens", "3000"));
  const semiSpaces = arg("semi-space", "")
    .split(",")
    .filter((s) => s !== "");
  const base = arg("base", "");
  const trees =
    base === ""
      ? [{ name: "this", dir: HERE_SRC }]
      : [
          { name: "base", dir: resolve(base) },
          { name: "this", dir: HERE_SRC },
        ];
  const variants = trees.flatMap((t) =>
    semiSpaces.length === 0
      ? [{ ...t, flags: [] as string[] }]
      : semiSpaces.map((mb) => ({ ...t, name: `${t.name} semi=${mb}MB`, flags: [`--max-semi-space-size=${mb}`] })),
  );
  const jwks = await startJwksServer();
  const { tokens, jwk } = mintTokens(jwks.issuer, tokenCount);
  jwks.setJwks({ keys: [jwk] });
  const tokensFile = join(mkdtempSync(join(tmpdir(), "portcullis-alloc-")), "tokens.json");
  writeFileSync(tokensFile, JSON.stringify(tokens));
  const results = new Map<string, ChildResult[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate which tree goes first, so drift on the machine falls on both alike.
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const spec: Spec = { tree: v.dir, issuer: jwks.issuer, tokensFile, checks };
      results.get(v.name)!.push(await runMeasuredChild(spec, v.flags));
    }
  }
  await jwks.close();
  printReport(results, rounds);
}

function mintTokens(issuer: string, count: number): { tokens: Tokens; jwk: object } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const forger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const kid = "alloc-rs256";
  const now = Math.floor(Date.now() / 1000);
  const mint = (i: number, key: KeyObject) => {
    const header = Buffer.from(JSON.stringify({ alg: "RS256", kid, typ: "JWT" })).toString("base64url");
    const payload = Buffer.from(
      JSON.stringify({
        iss: issuer,
        aud: "bench-api",
        sub: `user-${i}`,
        email: `user-${i}@example.com`,
        scope: "openid bench",
        roles: ["bench"],
        iat: now,
        exp: now + 3600,
        jti: `t${i}`,
      }),
    ).toString("base64url");
    const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key).toString("base64url");
    return `${header}.${payload}.${signature}`;
  };
  const distinct = Array.from({ length: count }, (_, i) => mint(i + 1, privateKey));
  const forged = Array.from({ length: Math.ceil(count / 3) }, (_, i) => mint(count + i + 1, forger));
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  return { tokens: { cached: mint(0, privateKey), distinct, forged }, jwk };
}

/** Runs one child under the GC trace and sums each phase's collections. */
async function runMeasuredChild(spec: Spec, flags: readonly string[]): Promise<ChildResult> {
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      "--trace-gc-nvp",
      ...flags,
      "--disable-warning=ExperimentalWarning",
      SELF,
      "--child",
      JSON.stringify(spec),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  if (code !== 0) throw new Error(`child exited ${code}:\n${out.slice(-2000)}`);
  const result: ChildResult = {};
  let current: {
    name: string;
    n: number;
    allocated: number;
    promoted: number;
    scavenges: number;
    pause: number;
  } | null = null;
  for (const line of out.split("\n")) {
    const marker = /^@(begin|end|closed) (\S+)(?: (\S+))?(?: (\S+))?/.exec(line);
    if (marker !== null) {
      const [, what, name, a, b] = marker;
      if (what === "begin") current = { name: name!, n: Number(a), allocated: 0, promoted: 0, scavenges: 0, pause: 0 };
      if (what === "closed" && current !== null) {
        const n = current.n;
        result[current.name] = {
          checks: n,
          allocatedPerCheck: current.allocated / n,
          promotedPerCheck: current.promoted / n,
          scavenges: current.scavenges,
          scavengePauseMs: current.pause,
          retainedPerCheck: Number(b) / n,
          usPerCheck: Number(a),
        };
        current = null;
      }
      continue;
    }
    if (current === null || !line.includes(" gc=")) continue;
    const field = (key: string) => Number(new RegExp(`\\b${key}=([0-9.]+)`).exec(line)?.[1] ?? 0);
    // `allocated` is new-space allocation since the previous collection, so the closing full GC's
    // line carries the phase's tail; `promoted` counts only scavenges inside the phase.
    current.allocated += field("allocated");
    if (/ gc=s /.test(line)) {
      current.promoted += field("promoted");
      current.scavenges += 1;
      current.pause += field("pause");
    }
  }
  return result;
}

function printReport(results: Map<string, ChildResult[]>, rounds: number): void {
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  const phases = ["cached", "firstSeen", "cachedAmongMany", "forged"] as const;
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
  console.log(`per check, median of ${rounds} rounds (one child process per tree and round, trees alternating):`);
  console.log(
    "phase            tree                       checks  allocated  promoted  retained  scav  pause ms  µs/check",
  );
  for (const phase of phases) {
    for (const [name, runs] of results) {
      const of = (pick: (f: PhaseFigures) => number) => median(runs.map((r) => pick(r[phase]!)));
      console.log(
        [
          phase.padEnd(16),
          name.padEnd(26),
          String(runs[0]![phase]!.checks).padStart(6),
          kb(of((f) => f.allocatedPerCheck)).padStart(10),
          kb(of((f) => f.promotedPerCheck)).padStart(9),
          kb(of((f) => f.retainedPerCheck)).padStart(9),
          String(of((f) => f.scavenges)).padStart(5),
          of((f) => f.scavengePauseMs)
            .toFixed(1)
            .padStart(9),
          of((f) => f.usPerCheck)
            .toFixed(1)
            .padStart(9),
        ].join(" "),
      );
    }
  }
}
