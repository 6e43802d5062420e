// Chooses the gRPC transport that serves ext_authz Check and health (`listen.grpcTransport`): grpc-js,
// the node:http2 server, or the node:net server with its own HTTP/2 framing. All take the same options
// and keep the same GrpcServer contract; the ones not chosen are never loaded.
import type { GrpcServer, GrpcServerOptions } from "./startGrpcServer.ts";

export type GrpcTransport = "grpc-js" | "http2" | "net";

export async function startCheckServer(transport: GrpcTransport, options: GrpcServerOptions): Promise<GrpcServer> {
  if (transport === "net") return (await import("./startNetGrpcServer.ts")).startNetGrpcServer(options);
  if (transport === "http2") return (await import("./startHttp2GrpcServer.ts")).startHttp2GrpcServer(options);
  // grpc-js binds its own listener without SO_REUSEPORT: a second worker would fail to bind (or, in a
  // cluster worker, be handed the supervisor's socket), so sharing a port is refused here too.
  if (options.reusePort === true) throw new Error("listen.grpcTransport grpc-js cannot share its port between workers");
  return (await import("./startGrpcServer.ts")).startGrpcServer(options);
}
