// What allowed_headers saves Portcullis per Check, without sockets: the wire decoder
// (decodeCheckRequest) on the CheckRequest Envoy sends for a browser-like request
// (bench/browserRequestHeaders.ts, the pseudo-headers and Envoy's own headers added) with every
// header, and with only those the bench's Portcullis config reads; the two alternate in rounds in
// one process. Reports the message size and CPU µs per decode (median round, and the median of the
// rounds' own ratios): a figure the machine's load moves much less than the ones through Envoy.
// Run: node --disable-warning=ExperimentalWarning bench/checkDecodeAllowedHeaders.ts [--iterations 50000] [--rounds 7]
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { browserHeaders } from "./browserRequestHeaders.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { benchAllowedHeaders } from "./renderEnvoyConfig.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const arg = (name: string, fallback: number) =>
  process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback;
const iterations = arg("--iterations", 50_000);
const rounds = arg("--rounds", 7);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const method = checkMethodDefinition;

// A bearer token of a real RS256 access token's size (the decoder never looks inside it).
const token = `eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0.${"x".repeat(420)}.${"s".repeat(342)}`;
// buildCheckRequest adds the Authorization header itself.
const { authorization: _bearer, ...others } = browserHeaders(token);
const full = buildCheckRequest(token, "app.example.com", "/dashboard", others) as {
  attributes: { request: { http: { headers: Record<string, string> } } };
};
const allowed = new Set(benchAllowedHeaders().map((p) => p.exact));
const narrowed = structuredClone(full);
const http = narrowed.attributes.request.http;
http.headers = Object.fromEntries(Object.entries(http.headers).filter(([name]) => allowed.has(name)));

const cases = [
  { name: "every header", wire: method.requestSerialize(full), cpu: [] as number[] },
  { name: "allowed_headers", wire: method.requestSerialize(narrowed), cpu: [] as number[] },
];

function run(wire: Buffer): number {
  const start = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < iterations; i++) {
    const request = decodeCheckRequest(wire);
    if (!("headers" in request)) throw new Error(`refused: ${request.reason}`);
    sink += request.headers.size;
  }
  const used = process.cpuUsage(start);
  if (sink === 0) throw new Error("no headers decoded");
  return (used.user + used.system) / iterations;
}

for (const c of cases) run(c.wire); // warm-up: the decoder's name table and the JIT
for (let r = 0; r < rounds; r++) for (const c of r % 2 === 0 ? cases : [...cases].reverse()) c.cpu.push(run(c.wire));
for (const c of cases) {
  const headers = Object.keys(c === cases[0] ? full.attributes.request.http.headers : http.headers).length;
  console.log(
    `${c.name}: ${c.wire.length} bytes, ${headers} headers, ${median(c.cpu).toFixed(2)} µs CPU per decode (median of ${rounds} rounds of ${iterations})`,
  );
}
const ratios = cases[1]!.cpu.map((x, i) => x / cases[0]!.cpu[i]!);
console.log(`allowed_headers / every header, median of the rounds' ratios: ${median(ratios).toFixed(2)}×`);
