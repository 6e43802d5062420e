// The Check path in one process, without sockets: decode a CheckRequest as Envoy sends it → gate
// (cached token) → metrics and log hook → encode the CheckResponse, N times. It isolates what
// Portcullis's own code costs per check from the gRPC transport that run.ts measures around it.
// Run: node --disable-warning=ExperimentalWarning bench/checkPath.ts [--iterations 200000]
import * as protoLoader from "@grpc/proto-loader";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { parseConfig } from "../src/config/parseConfig.ts";
import { buildCheckPipeline } from "../src/cli/buildCheckPipeline.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { PROTO_LOADER_OPTIONS } from "../src/transport/loadProtos.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { startJwksServer } from "./startJwksServer.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 200_000;
const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);
const parsed = parseConfig({
  providers: { bench: { issuer: jwks.issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true } },
  routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
  log: { level: "info" },
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const pipeline = buildCheckPipeline(parsed.config, createLogger("warn"));
await pipeline.registry.start();

const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
const method = (definition["envoy.service.auth.v3.Authorization"] as Record<string, protoLoader.MethodDefinition<object, object>>)["Check"]!;
const wire = method.requestSerialize(buildCheckRequest(identity.token, "localhost", "/x"));

let answered = 0;
let allowed = 0;
let resolveCheck: () => void = () => undefined;
const callback: sendUnaryData<unknown> = (_err, response) => {
  const encoded = method.responseSerialize(response as object);
  answered += 1;
  if ((response as { ok_response?: unknown }).ok_response && encoded.length > 0) allowed += 1;
  resolveCheck();
};
const run = async (n: number) => {
  for (let i = 0; i < n; i++) {
    const done = new Promise<void>((resolve) => (resolveCheck = resolve));
    const call = { request: method.requestDeserialize(wire) } as ServerUnaryCall<never, unknown>;
    pipeline.handlers["Check"]!(call as never, callback);
    await done;
  }
};
await run(20_000); // warm-up: JIT and the token cache
answered = 0;
allowed = 0;
const started = process.hrtime.bigint();
await run(iterations);
const perCheckUs = Number(process.hrtime.bigint() - started) / 1000 / iterations;
pipeline.registry.close();
await jwks.close();
console.log(`${iterations} checks, ${allowed} allowed, ${answered} answered: ${perCheckUs.toFixed(2)} µs per check (decode + decide + observe + encode)`);
if (allowed !== iterations) process.exitCode = 1;
