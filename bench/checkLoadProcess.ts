// Child process: a closed-loop gRPC load on ext_authz Check — `concurrency` calls always in flight
// on one channel (as Envoy holds one HTTP/2 connection per worker), warm-up then a measured window.
// Input: one JSON argument (CheckLoadSpec). Output: one JSON line {"result": CheckLoadResult}.
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
import { LatencyHistogram, type LatencySummary } from "./LatencyHistogram.ts";

export interface CheckLoadSpec {
  readonly target: string; // "127.0.0.1:PORT"
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly request: object;
}

export interface CheckLoadResult {
  readonly requestsPerSecond: number;
  readonly ok: number;
  readonly notOk: number;
  readonly errors: number;
  /** Every answered call including warm-up and drain: the denominator for the server's CPU use. */
  readonly totalCalls: number;
  readonly latency: LatencySummary;
}

type CheckClient = Client & {
  Check(
    req: object,
    options: { deadline: Date },
    cb: (err: ServiceError | null, res?: { status?: { code?: number } }) => void,
  ): void;
};

const CALL_DEADLINE_MS = 5000;

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as CheckLoadSpec;
  const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
  const root = loadPackageDefinition(definition) as GrpcObject;
  const Authorization = ((root["envoy"] as GrpcObject)["service"] as GrpcObject)["auth"] as GrpcObject;
  const Ctor = (Authorization["v3"] as GrpcObject)["Authorization"] as ServiceClientConstructor;
  const client = new Ctor(spec.target, credentials.createInsecure()) as unknown as CheckClient;
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(new Date(Date.now() + 5000), (err) => (err ? reject(err) : resolve())),
  );

  const histogram = new LatencyHistogram();
  let ok = 0;
  let notOk = 0;
  let errors = 0;
  let totalCalls = 0;
  const warmupEnd = performance.now() + spec.warmupSeconds * 1000;
  const measureEnd = warmupEnd + spec.durationSeconds * 1000;

  const worker = () =>
    new Promise<void>((resolve) => {
      const next = () => {
        const started = performance.now();
        if (started >= measureEnd) return resolve();
        client.Check(spec.request, { deadline: new Date(Date.now() + CALL_DEADLINE_MS) }, (err, res) => {
          const ended = performance.now();
          if (!err) totalCalls += 1;
          // Only calls that both start and finish inside the window count, so warm-up and drain do not.
          if (started >= warmupEnd && ended <= measureEnd) {
            if (err) errors += 1;
            else {
              histogram.recordMs(ended - started);
              if (res?.status?.code === 0 || res?.status?.code === undefined) ok += 1;
              else notOk += 1;
            }
          }
          next();
        });
      };
      next();
    });
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  client.close();
  const result: CheckLoadResult = {
    requestsPerSecond: (ok + notOk) / spec.durationSeconds,
    ok,
    notOk,
    errors,
    totalCalls,
    latency: histogram.summary(),
  };
  process.stdout.write(`${JSON.stringify({ result })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`check load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
