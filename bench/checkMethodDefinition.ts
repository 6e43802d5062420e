// The ext_authz Check method as proto-loader defines it from the upstream protos: its
// requestSerialize turns a CheckRequest object into the bytes Envoy would send, for the benchmarks
// that feed the Check pipeline without sockets.
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_LOADER_OPTIONS } from "../src/transport/loadProtos.ts";

const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);

export const checkMethodDefinition = (
  definition["envoy.service.auth.v3.Authorization"] as Record<string, protoLoader.MethodDefinition<object, object>>
)["Check"]!;
