// Loads the ext_authz v3 and grpc.health.v1 definitions from proto/ (a faithful subset of the
// upstream files). Options are fixed here so every loader in the process decodes the same way. The
// server loads health alone: ext_authz is served by its wire codec (authorizationServiceDefinition).
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

function pick(root: GrpcObject, path: string): ServiceDefinition {
  let node: unknown = root;
  for (const part of path.split(".")) node = (node as Record<string, unknown>)[part];
  return (node as { service: ServiceDefinition }).service;
}

export function loadHealthService(): ServiceDefinition {
  const definition = protoLoader.loadSync("grpc/health/v1/health.proto", PROTO_LOADER_OPTIONS);
  return pick(loadPackageDefinition(definition) as GrpcObject, "grpc.health.v1.Health");
}

export function loadProtos(): LoadedServices {
  const definition = protoLoader.loadSync(
    ["envoy/service/auth/v3/external_auth.proto", "grpc/health/v1/health.proto"],
    PROTO_LOADER_OPTIONS,
  );
  const root = loadPackageDefinition(definition) as GrpcObject;
  return {
    authorization: pick(root, "envoy.service.auth.v3.Authorization"),
    health: pick(root, "grpc.health.v1.Health"),
  };
}
