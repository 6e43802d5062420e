// Chooses the gRPC transport that serves ext_authz Check and health: grpc-js (the default) or the
// node:http2 server when PORTCULLIS_GRPC_TRANSPORT=http2. Both take the same options and keep the
// same GrpcServer contract; an unknown value refuses to start rather than guess.
import { startGrpcServer, type GrpcServer } from "./startGrpcServer.ts";
import { startHttp2GrpcServer } from "./startHttp2GrpcServer.ts";

export type GrpcTransport = "grpc-js" | "http2";

export function grpcTransportFrom(env: NodeJS.ProcessEnv): GrpcTransport {
  const value = env["PORTCULLIS_GRPC_TRANSPORT"];
  if (value === undefined || value === "" || value === "grpc-js") return "grpc-js";
  if (value === "http2") return "http2";
  throw new Error(`PORTCULLIS_GRPC_TRANSPORT must be grpc-js or http2, not ${JSON.stringify(value)}`);
}

export function startCheckServer(options: Parameters<typeof startGrpcServer>[0]): Promise<GrpcServer> {
  return grpcTransportFrom(process.env) === "http2" ? startHttp2GrpcServer(options) : startGrpcServer(options);
}
