// What tracing costs on the Check path, without sockets: the cached-bearer pipeline of checkPath.ts
// without a tracer (as with `tracing.enabled: false`) timed in alternating rounds against, first,
// the tracer with a traceparent that says not sampled (context extracted, no span recorded), then
// the tracer with a sampled one (a span recorded and exported over OTLP/HTTP to a sink on
// loopback). Two phases, so the exports of sampled rounds never land in the unsampled ones. The sink is a child process that counts the spans it receives; a sampled round
// ends only once its spans have arrived, so their export is in its time. Each round reports wall
// time and this process's CPU time per check (the steadier figure on a busy machine).
// With --expose-gc each round ends with a full collection inside its measured time, so every variant
// pays for its own garbage rather than the round after it.
// Run: node --expose-gc --disable-warning=ExperimentalWarning bench/checkPathTracing.ts [--iterations 100000]
import { spawn } from "node:child_process";
import { once } from "node:events";
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import { buildCheckPipeline } from "../src/app/buildCheckPipeline.ts";
import { createCheckObserver } from "../src/app/createCheckObserver.ts";
import { createCheckTracer } from "../src/app/createCheckTracer.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { startTracing } from "../src/observability/startTracing.ts";
import { createExtAuthzHandlers } from "../src/transport/createExtAuthzHandlers.ts";
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 100_000;
const ROUNDS = 5;

// The collector stand-in, in its own process so its work is not counted: accepts every export,
// counts the spans in it, and tells the count on GET /count.
const SINK = `
const server = require("node:http").createServer((req, res) => {
  if (req.method === "GET") return res.end(String(globalThis.spans ?? 0));
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => { globalThis.spans = (globalThis.spans ?? 0) + (body.match(/"spanId"/g) ?? []).length; res.writeHead(200, { "content-type": "application/json" }).end("{}"); });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
const sink = spawn(process.execPath, ["-e", SINK], { stdio: ["ignore", "pipe", "inherit"] });
const [portLine] = (await once(sink.stdout!, "data")) as [Buffer];
const sinkUrl = `http://127.0.0.1:${Number(portLine.toString())}`;
const exportedSpans = async (): Promise<number> => Number(await (await fetch(`${sinkUrl}/count`)).text());
const tracing = startTracing({
  endpoint: `${sinkUrl}/v1/traces`,
  serviceName: "portcullis-bench",
  sampleRatio: 1,
  exportTimeoutMs: 10_000,
  headers: {},
  // The last partial batch of a round goes out after this instead of the default 5 s, so a round
  // does not sit idle (and poll the sink) waiting for it; a span costs the same either way.
  batchDelayMs: 100,
});

const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);
const parsed = parseConfig({
  providers: {
    bench: { issuer: jwks.issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true },
  },
  routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
  log: { level: "warn" },
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const logger = createLogger("warn");
const pipeline = buildCheckPipeline(parsed.config, logger);
await pipeline.registry.start();

const method = checkMethodDefinition;
const traceparent = (flags: string) => `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-${flags}`;

interface Variant {
  readonly name: string;
  readonly sampled: boolean;
  readonly handlers: UntypedServiceImplementation;
  readonly wire: Buffer;
  allowed: number;
  us: number[];
  cpuUs: number[];
}

const traced = createExtAuthzHandlers(
  pipeline.gate,
  createCheckObserver(pipeline.metrics, logger),
  createCheckTracer(tracing),
);
const variant = (
  name: string,
  handlers: UntypedServiceImplementation,
  headers: Record<string, string>,
  sampled = false,
): Variant => ({
  name,
  sampled,
  handlers,
  wire: method.requestSerialize(buildCheckRequest(identity.token, "localhost", "/x", headers)),
  allowed: 0,
  us: [],
  cpuUs: [],
});
const variants = [
  variant("tracing off", pipeline.handlers, { traceparent: traceparent("01") }),
  variant("tracing on, sampled traceparent", traced, { traceparent: traceparent("01") }, true),
  variant("tracing on, traceparent not sampled", traced, { traceparent: traceparent("00") }),
];

/** Wall and CPU µs per check over n checks. */
async function run(v: Variant, n: number): Promise<{ wall: number; cpu: number }> {
  let resolveCheck: () => void = () => undefined;
  const callback: sendUnaryData<unknown> = (_err, response) => {
    // The handler answers with the CheckResponse bytes: ok_response (tag 0x1a) follows the 4-byte status.
    if ((response as Buffer)[4] === 0x1a) v.allowed += 1;
    resolveCheck();
  };
  const expected = v.sampled ? (await exportedSpans()) + n : 0;
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const done = new Promise<void>((resolve) => (resolveCheck = resolve));
    v.handlers["Check"]!({ request: decodeCheckRequest(v.wire) } as ServerUnaryCall<never, unknown> as never, callback);
    await done;
    // Checks resolve in microtasks; without a turn of the event loop now and then the exporter's
    // HTTP requests would never complete during a round (a server's socket I/O gives it those turns).
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  // The round's spans exported (at most 10 s more), so their serialisation and sending count here.
  for (const until = Date.now() + 10_000; v.sampled && Date.now() < until && (await exportedSpans()) < expected;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  (globalThis as { gc?: () => void }).gc?.();
  const used = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - started) / 1000 / n, cpu: (used.user + used.system) / n };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const [off, sampled, unsampled] = variants;
for (const v of variants) await run(v, 10_000);
console.log("decode + decide + observe + encode, cached bearer token, one request after another:");
let sampledExported = 0;
for (const against of [unsampled!, sampled!]) {
  for (const v of [off!, against]) {
    v.allowed = 0;
    v.us = [];
    v.cpuUs = [];
  }
  const before = await exportedSpans();
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of [off!, against]) {
      const { wall, cpu } = await run(v, Math.ceil(iterations / ROUNDS));
      v.us.push(wall);
      v.cpuUs.push(cpu);
    }
  }
  if (against === sampled) sampledExported = (await exportedSpans()) - before;
  for (const v of [off!, against]) {
    const ratio = median(v.us.map((us, i) => us / off!.us[i]!));
    const cpuRatio = median(v.cpuUs.map((us, i) => us / off!.cpuUs[i]!));
    console.log(
      `${v.name}: ${v.allowed} allowed, ${median(v.us).toFixed(2)} µs wall (${ratio.toFixed(2)}× off), ${median(v.cpuUs).toFixed(2)} µs CPU (${cpuRatio.toFixed(2)}× off) per check, medians of ${ROUNDS} rounds`,
    );
  }
}
await tracing.shutdown();
console.log(
  `spans received by the OTLP sink: ${sampledExported} of ${sampled!.allowed} sampled checks (the rest dropped by the bounded queue)`,
);
pipeline.registry.close();
await jwks.close();
sink.kill();
if (variants.some((v) => v.allowed !== ROUNDS * Math.ceil(iterations / ROUNDS))) process.exitCode = 1;
