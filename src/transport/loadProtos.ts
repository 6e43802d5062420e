// Loads the ext_authz v3 and grpc.health.v1 definitions from proto/ (a faithful subset of the
// upstream files) for clients, tests and benchmarks; options are fixed here so every loader decodes
// the same way. The grpc-js server loads none: it serves both through hand-written codecs (see
// authorizationServiceDefinition and healthServiceDefinition), held to these files by tests.
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from "@grpc/grpc-js";

export const PROTO_ROOT = fileURLToPath(new URL("../../proto/", import.meta.url));

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

export interface LoadedServices {
  readonly authorization: ServiceDefinition;
  readonly health: ServiceDefinition;
}

/** grpc.health.v1 alone, through proto-loader (the grpc-js server serves HEALTH_SERVICE_DEFINITION instead). */
export function loadHealthService(): ServiceDefinition {
  const definition = protoLoader.loadSync("grpc/health/v1/health.proto", PROTO_LOADER_OPTIONS);
  const root = loadPackageDefinition(definition) as GrpcObject;
  return (
    (((root["grpc"] as GrpcObject)["health"] as GrpcObject)["v1"] as GrpcObject)["Health"] as {
      service: ServiceDefinition;
    }
  ).service;
}

export function loadProtos(): LoadedServices {
  const definition = protoLoader.loadSync(
    ["envoy/service/auth/v3/external_auth.proto", "grpc/health/v1/health.proto"],
    PROTO_LOADER_OPTIONS,
  );
  const root = loadPackageDefinition(definition) as GrpcObject;
  const pick = (path: string): ServiceDefinition => {
    let node: unknown = root;
    for (const part of path.split(".")) node = (node as Record<string, unknown>)[part];
    return (node as { service: ServiceDefinition }).service;
  };
  return {
    authorization: pick("envoy.service.auth.v3.Authorization"),
    health: pick("grpc.health.v1.Health"),
  };
}
