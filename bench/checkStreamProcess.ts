// Child process: sends one direct ext_authz Check per token of a file (one token a line), with
// `concurrency` calls in flight on one gRPC channel, and counts the answers: the memory phase's
// load of distinct valid and invalid tokens. Input: one JSON argument (CheckStreamSpec). Output:
// one JSON line {"result": CheckStreamResult}.
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { readFileSync } from "node:fs";
import { PROTO_LOADER_OPTIONS } from "../src/transport/loadProtos.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";

export interface CheckStreamSpec {
  readonly target: string; // "127.0.0.1:PORT"
  readonly concurrency: number;
  readonly tokensFile: string;
  readonly host: string;
  readonly path: string;
}

export interface CheckStreamResult {
  readonly calls: number;
  readonly ok: number;
  readonly denied: number;
  readonly errors: number;
  readonly seconds: number;
}

interface CheckClient {
  Check(
    req: object,
    options: { deadline: Date },
    cb: (err: Error | null, res?: { status?: { code?: number } }) => void,
  ): void;
  waitForReady(deadline: Date, cb: (err?: Error) => void): void;
  close(): void;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as CheckStreamSpec;
  const tokens = readFileSync(spec.tokensFile, "utf8").split("\n").filter(Boolean);
  const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
  const root = loadPackageDefinition(definition) as GrpcObject;
  const v3 = (((root["envoy"] as GrpcObject)["service"] as GrpcObject)["auth"] as GrpcObject)["v3"] as GrpcObject;
  const Ctor = v3["Authorization"] as ServiceClientConstructor;
  const client = new Ctor(spec.target, credentials.createInsecure()) as unknown as CheckClient;
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(new Date(Date.now() + 5000), (err) => (err ? reject(err) : resolve())),
  );
  let next = 0;
  let ok = 0;
  let denied = 0;
  let errors = 0;
  const started = performance.now();
  const worker = () =>
    new Promise<void>((resolve) => {
      const send = () => {
        const token = tokens[next++];
        if (token === undefined) return resolve();
        const request = buildCheckRequest(token, spec.host, spec.path);
        client.Check(request, { deadline: new Date(Date.now() + 5000) }, (err, res) => {
          if (err) errors += 1;
          else if ((res?.status?.code ?? 0) === 0) ok += 1;
          else denied += 1;
          send();
        });
      };
      send();
    });
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  client.close();
  const result: CheckStreamResult = {
    calls: tokens.length,
    ok,
    denied,
    errors,
    seconds: (performance.now() - started) / 1000,
  };
  process.stdout.write(`${JSON.stringify({ result })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`check stream: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
