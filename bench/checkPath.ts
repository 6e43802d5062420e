// The Check path in one process, without sockets: decode a CheckRequest as Envoy sends it → gate
// (cached token) → metrics and log hook → encode the CheckResponse, N times. It isolates what
// Portcullis's own code costs per check from the gRPC transport that run.ts measures around it.
// It runs twice, with the one-route bench config and with a 200-rule, 20-host route list, and then
// times RouteTable.match alone on both tables (ns per match, over a mix of hosts, paths and methods).
// Run: node --disable-warning=ExperimentalWarning bench/checkPath.ts [--iterations 200000]
import * as protoLoader from "@grpc/proto-loader";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { PortcullisConfig } from "../src/config/PortcullisConfig.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { buildCheckPipeline } from "../src/cli/buildCheckPipeline.ts";
import { RouteTable } from "../src/core/RouteTable.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { PROTO_LOADER_OPTIONS } from "../src/transport/loadProtos.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { buildLargeRouteConfig, LARGE_TABLE_HOSTS, LARGE_TABLE_REQUEST } from "./buildLargeRouteConfig.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { startJwksServer } from "./startJwksServer.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 200_000;
const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);
const provider = { bench: { issuer: jwks.issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true } };
const load = (routes: unknown[]): PortcullisConfig => {
  const parsed = parseConfig({ providers: provider, routes, log: { level: "info" } });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
};
const smallConfig = load([{ name: "bench", match: { path: "/" }, auth: "required" }]);
const largeConfig = load(buildLargeRouteConfig("bench"));

const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
const method = (definition["envoy.service.auth.v3.Authorization"] as Record<string, protoLoader.MethodDefinition<object, object>>)["Check"]!;

interface PipelineRun {
  /** Runs n checks one after another; resolves with µs per check. */
  run(n: number): Promise<number>;
  readonly counts: { allowed: number; answered: number };
  close(): void;
}

/** The whole pipeline on one request with a cached token, ready to be timed in rounds. */
async function startPipeline(config: PortcullisConfig, host: string, path: string): Promise<PipelineRun> {
  const pipeline = buildCheckPipeline(config, createLogger("warn"));
  await pipeline.registry.start();
  const wire = method.requestSerialize(buildCheckRequest(identity.token, host, path));
  const counts = { allowed: 0, answered: 0 };
  let resolveCheck: () => void = () => undefined;
  const callback: sendUnaryData<unknown> = (_err, response) => {
    const encoded = method.responseSerialize(response as object);
    counts.answered += 1;
    if ((response as { ok_response?: unknown }).ok_response && encoded.length > 0) counts.allowed += 1;
    resolveCheck();
  };
  const run = async (n: number) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const done = new Promise<void>((resolve) => (resolveCheck = resolve));
      const call = { request: method.requestDeserialize(wire) } as ServerUnaryCall<never, unknown>;
      pipeline.handlers["Check"]!(call as never, callback);
      await done;
    }
    return Number(process.hrtime.bigint() - started) / 1000 / n;
  };
  return { run, counts, close: () => pipeline.registry.close() };
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ROUNDS = 5;

// Both pipelines are warmed (JIT, token cache), then timed in alternating rounds, so load on the
// machine falls on both alike; each figure is the median round.
const small = await startPipeline(smallConfig, "localhost", "/x");
const large = await startPipeline(largeConfig, LARGE_TABLE_REQUEST.host, LARGE_TABLE_REQUEST.path);
await small.run(20_000);
await large.run(20_000);
small.counts.allowed = small.counts.answered = large.counts.allowed = large.counts.answered = 0;
const smallUs: number[] = [];
const largeUs: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  smallUs.push(await small.run(Math.ceil(iterations / ROUNDS)));
  largeUs.push(await large.run(Math.ceil(iterations / ROUNDS)));
}
small.close();
large.close();
await jwks.close();
const line = (p: PipelineRun, us: number[], what: string) =>
  `${p.counts.answered} checks, ${p.counts.allowed} allowed: ${median(us).toFixed(2)} µs per check (decode + decide + observe + encode; median of ${ROUNDS} rounds), ${what}`;
console.log(line(small, smallUs, "1 route"));
console.log(line(large, largeUs, `${largeConfig.routes.length} routes on ${LARGE_TABLE_HOSTS.length} hosts`));

// RouteTable.match alone over a mix: known hosts (indexed), a wildcard-only host and an unknown
// host, over paths that hit early, late and no per-host rule, with GET and POST.
const mixHosts = [LARGE_TABLE_REQUEST.host, "svc0.example.com", "svc19.example.com", "other.example.com", "unknown.test"];
const mixPaths = ["/healthz", "/api/v2/orders/17", "/v1/users/42", "/files/a/meta", "/api/v2/reports/q/3", "/shared/7", "/nothing/here"];
const mix = mixHosts.flatMap((h) => mixPaths.flatMap((p) => [[h, p, "GET"], [h, p, "POST"]] as const));
const PER_ROUND = 1_000_000;
let matched = 0;
/** ns per match over PER_ROUND matches cycling through the mix. */
const matchRound = (table: RouteTable): number => {
  const started = process.hrtime.bigint();
  for (let i = 0; i < PER_ROUND; i++) {
    const [host, path, verb] = mix[i % mix.length]!;
    if (table.match(host, path, verb) !== null) matched += 1;
  }
  return Number(process.hrtime.bigint() - started) / PER_ROUND;
};
const smallTable = new RouteTable(smallConfig.routes, smallConfig.policy);
const largeTable = new RouteTable(largeConfig.routes, largeConfig.policy);
matchRound(smallTable);
matchRound(largeTable);
const smallNs: number[] = [];
const largeNs: number[] = [];
for (let r = 0; r < 7; r++) {
  smallNs.push(matchRound(smallTable));
  largeNs.push(matchRound(largeTable));
}
console.log(
  `route match alone (${mix.length} requests cycled, median of 7 × ${PER_ROUND.toLocaleString("en")}): 1 route ${median(smallNs).toFixed(0)} ns, ${largeConfig.routes.length} routes on ${LARGE_TABLE_HOSTS.length} hosts ${median(largeNs).toFixed(0)} ns per match (${matched > 0 ? "ok" : "none matched"})`,
);
if (small.counts.allowed !== small.counts.answered || large.counts.allowed !== large.counts.answered) process.exitCode = 1;
