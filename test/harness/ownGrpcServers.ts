// The two gRPC servers built in this repository, for tests that hold both to the same behaviour:
// the one on node:http2 and the one on node:net with Portcullis's own HTTP/2 framing.
import { startHttp2GrpcServer } from "../../src/transport/startHttp2GrpcServer.ts";
import { startNetGrpcServer } from "../../src/transport/startNetGrpcServer.ts";

export const OWN_GRPC_SERVERS = [
  { name: "node:http2", start: startHttp2GrpcServer },
  { name: "node:net", start: startNetGrpcServer },
] as const;

export type StartOwnGrpcServer = (typeof OWN_GRPC_SERVERS)[number]["start"];
