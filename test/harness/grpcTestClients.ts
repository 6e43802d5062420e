// gRPC clients as Envoy uses Portcullis: ext_authz Check and grpc.health.v1 Check/Watch, each on a
// channel of its own (a new connection), loaded from the protos Portcullis serves.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_LOADER_OPTIONS } from "../../src/transport/loadProtos.ts";

type Json = Record<string, any>;
const AUTHORIZATION = "envoy.service.auth.v3.Authorization";

function service(file: string, name: string): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(file, { ...PROTO_LOADER_OPTIONS, enums: String });
  return name
    .split(".")
    .reduce<any>((node, key) => node[key], grpc.loadPackageDefinition(definition)) as grpc.ServiceClientConstructor;
}

/**
 * One Check of a GET on a new connection; resolves with the CheckResponse (`http_response` says
 * ok_response or denied_response) or rejects with the gRPC error (code UNAVAILABLE when nothing listens).
 */
export function checkOnce(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  id = "test",
): Promise<Json> {
  const Authorization = service("envoy/service/auth/v3/external_auth.proto", AUTHORIZATION);
  const client = new Authorization(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client &
    Json;
  return new Promise<Json>((resolve, reject) => {
    client["Check"](
      { attributes: { request: { http: { id, method: "GET", host: "localhost", path, scheme: "https", headers } } } },
      { deadline: Date.now() + 10_000 },
      (error: grpc.ServiceError | null, response: Json) => {
        client.close();
        if (error) reject(error);
        else resolve(response);
      },
    );
  });
}

export interface CheckClient {
  /** A Check of a GET, as checkOnce, on the client's one connection. */
  check(path: string, headers?: Record<string, string>, host?: string): Promise<Json>;
  close(): void;
}

/** One ext_authz client (protos loaded once, one connection) for many Checks, as property tests make. */
export function openCheckClient(port: number): CheckClient {
  const Authorization = service("envoy/service/auth/v3/external_auth.proto", AUTHORIZATION);
  const client = new Authorization(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client &
    Json;
  return {
    check: (path, headers = {}, host = "localhost") =>
      new Promise<Json>((resolve, reject) => {
        client["Check"](
          { attributes: { request: { http: { id: "test", method: "GET", host, path, scheme: "https", headers } } } },
          { deadline: Date.now() + 10_000 },
          (error: grpc.ServiceError | null, response: Json) => (error ? reject(error) : resolve(response)),
        );
      }),
    close: () => client.close(),
  };
}

/** grpc.health.v1 Check for the ext_authz service on a new connection: "SERVING" or "NOT_SERVING". */
export function healthOnce(port: number): Promise<string> {
  const Health = service("grpc/health/v1/health.proto", "grpc.health.v1.Health");
  const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Json;
  return new Promise<string>((resolve, reject) => {
    client["Check"](
      { service: AUTHORIZATION },
      { deadline: Date.now() + 5000 },
      (error: grpc.ServiceError | null, response: { status: string }) => {
        client.close();
        if (error) reject(error);
        else resolve(response.status);
      },
    );
  });
}

export interface HealthWatch {
  /** Every status the stream delivered, in order. */
  readonly statuses: readonly string[];
  /** Whether the server has ended the stream (or it failed). */
  ended(): boolean;
  close(): void;
}

/** A grpc.health.v1 Watch of the ext_authz service, as a long-lived health client holds it. */
export function watchHealth(port: number): HealthWatch {
  const Health = service("grpc/health/v1/health.proto", "grpc.health.v1.Health");
  const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Json;
  const statuses: string[] = [];
  let ended = false;
  const call = client["Watch"]({ service: AUTHORIZATION }) as grpc.ClientReadableStream<{ status: string }>;
  call.on("data", (r) => statuses.push(r.status));
  call.on("status", () => (ended = true));
  call.on("error", () => (ended = true));
  return {
    statuses,
    ended: () => ended,
    close() {
      call.cancel();
      client.close();
    },
  };
}
