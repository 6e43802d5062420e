// The routing table of the gRPC servers built here (node:http2 and node:net): each method's path → its
// (de)serializers and handler, from grpc-js service definitions. Unary and server-streaming only.
import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { GrpcMethod } from "./GrpcCall.ts";

/** The routing table: each method's path → its (de)serializers and handler. Unary and server-streaming only. */
export function grpcMethodTable(
  services: Array<[ServiceDefinition, UntypedServiceImplementation]>,
): Map<string, GrpcMethod> {
  const table = new Map<string, GrpcMethod>();
  for (const [definition, implementation] of services) {
    for (const [name, method] of Object.entries(definition)) {
      const handler = implementation[name];
      if (handler === undefined || method.requestStream) continue;
      table.set(method.path, {
        responseStream: method.responseStream,
        deserialize: method.requestDeserialize,
        serialize: method.responseSerialize,
        handler: handler as GrpcMethod["handler"],
      });
    }
  }
  return table;
}
