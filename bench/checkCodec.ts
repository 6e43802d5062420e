// The Check wire codec alone, old against new in one process, alternating rounds: decode a
// CheckRequest as Envoy sends it into an AccessRequest and encode a Decision into CheckResponse
// bytes, with proto-loader reflection + toAccessRequest/toCheckResponse (reflection) and with
// decodeCheckRequest/checkResponseBytes (codec, as the handler calls them). Reports µs per call (median round) and bytes
// allocated per call (heap growth over a batch run between forced collections, in a young
// generation large enough that no collection runs inside it).
// Run: node --disable-warning=ExperimentalWarning bench/checkCodec.ts [--iterations 20000] [--rounds 7]
import { spawnSync } from "node:child_process";
import { GCProfiler } from "node:v8";
import type { Decision } from "../src/core/Decision.ts";
import { deny } from "../src/core/deny.ts";
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { checkResponseBytes } from "../src/transport/checkResponseBytes.ts";
import { toAccessRequest, type CheckRequestWire } from "../src/transport/toAccessRequest.ts";
import { toCheckResponse } from "../src/transport/toCheckResponse.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

// Allocation is read from heap growth, so the process needs gc() and a young generation that holds
// a whole batch: re-run with those flags unless they are on.
if (typeof globalThis.gc !== "function") {
  const flags = [
    "--expose-gc",
    "--min-semi-space-size=64",
    "--max-semi-space-size=64",
    "--disable-warning=ExperimentalWarning",
  ];
  const child = spawnSync(process.execPath, [...flags, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(child.status ?? 1);
}
const gc = globalThis.gc as () => void;

const arg = (name: string, fallback: number) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback;
const iterations = arg("--iterations", 20_000);
const rounds = arg("--rounds", 7);
const ALLOCATION_BATCH = 1_000;

const method = checkMethodDefinition;

// A bearer token of the size a real RS256 access token has (the codec never looks inside it).
const token = `eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0.${"x".repeat(420)}.${"s".repeat(342)}`;
const bearerWire = method.requestSerialize(buildCheckRequest(token, "api.example.com", "/api/orders?page=2"));
const cookieWire = method.requestSerialize(
  buildCheckRequest(null, "app.example.com", "/dashboard", { cookie: `__Host-s=${"c".repeat(3300)}; theme=dark` }),
);
const allow: Decision = {
  kind: "allow",
  route: "api",
  reason: "authenticated",
  setHeaders: [
    ["x-user-sub", "248289761001"],
    ["x-user-email", "jane.doe@example.com"],
    ["x-user-roles", "admin,billing"],
    ["x-user-context", Buffer.from(JSON.stringify({ id: "248289761001", scopes: ["orders:read"] })).toString("base64")],
  ],
  removeHeaders: ["x-user-sub", "x-user-email", "x-user-roles", "x-user-context", "x-user-assertion"],
};
const denial = deny("token_expired", { route: "api" });

interface Codec {
  readonly name: string;
  call(wire: Buffer, decision: Decision): number;
}
const reflection: Codec = {
  name: "reflection (proto-loader)",
  call: (wire, decision) => {
    const request = toAccessRequest(method.requestDeserialize(wire) as CheckRequestWire);
    return request.headers.size + method.responseSerialize(toCheckResponse(decision)).length;
  },
};
const codec: Codec = {
  name: "codec (decodeCheckRequest)",
  call: (wire, decision) => {
    const request = decodeCheckRequest(wire);
    if (!("headers" in request)) throw new Error(`refused: ${request.reason}`);
    return request.headers.size + checkResponseBytes(decision)!.length;
  },
};
const cases = [
  { name: "bearer token, allow", wire: bearerWire, decision: allow },
  // The gate hands out one frozen Allow per cached credential and route: its bytes are reused.
  { name: "bearer token, the gate's reused allow", wire: bearerWire, decision: Object.freeze({ ...allow }) },
  { name: "bearer token, 401 denial", wire: bearerWire, decision: denial },
  { name: "session cookie (3.3 kB), allow", wire: cookieWire, decision: allow },
];

function time(c: Codec, wire: Buffer, decision: Decision): number {
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += c.call(wire, decision);
  if (sink < 0) console.log(sink);
  return Number(process.hrtime.bigint() - started) / 1000 / iterations;
}

/** Bytes allocated per call: heap growth over a batch after a forced collection; null if one ran inside. */
function allocation(c: Codec, wire: Buffer, decision: Decision): number | null {
  gc();
  const profiler = new GCProfiler();
  profiler.start();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < ALLOCATION_BATCH; i++) c.call(wire, decision);
  const grown = process.memoryUsage().heapUsed - before;
  return profiler.stop().statistics.length === 0 ? grown / ALLOCATION_BATCH : null;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

console.log(`Check wire codec: ${iterations} calls per round, ${rounds} rounds alternating, medians`);
for (const k of cases) {
  const results = new Map<Codec, { us: number[]; bytes: number[] }>([
    [reflection, { us: [], bytes: [] }],
    [codec, { us: [], bytes: [] }],
  ]);
  for (const c of [reflection, codec]) time(c, k.wire, k.decision); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const c of r % 2 === 0 ? [reflection, codec] : [codec, reflection]) {
      const entry = results.get(c)!;
      entry.us.push(time(c, k.wire, k.decision));
      const bytes = allocation(c, k.wire, k.decision);
      if (bytes !== null) entry.bytes.push(bytes);
    }
  }
  const old = results.get(reflection)!;
  const now = results.get(codec)!;
  const [oldUs, newUs, oldB, newB] = [median(old.us), median(now.us), median(old.bytes), median(now.bytes)];
  console.log(`${k.name} (request ${k.wire.length} bytes):`);
  console.log(
    `  ${reflection.name.padEnd(28)} ${oldUs.toFixed(2).padStart(7)} µs  ${Math.round(oldB).toString().padStart(6)} B allocated per call`,
  );
  console.log(
    `  ${codec.name.padEnd(28)} ${newUs.toFixed(2).padStart(7)} µs  ${Math.round(newB).toString().padStart(6)} B allocated per call`,
  );
  console.log(`  codec / reflection: ${(newUs / oldUs).toFixed(2)}× time, ${(newB / oldB).toFixed(2)}× allocation`);
}
