// The gRPC server on node:net: Portcullis's own HTTP/2 (h2c) framing for ext_authz Check and
// grpc.health.v1 Check/Watch, a drop-in for startHttp2GrpcServer (same options, same GrpcServer
// contract) without node:http2's per-stream objects: a cached check costs a quarter of node:http2's
// transport CPU (docs/operations.md, Transports). Kept from the others: keepalive pings, the stream cap,
// the 1 MiB message limit, deadlines, status trailers, the request-byte budget, the connection cap and
// a graceful shutdown (GOAWAY, in-flight calls finish, sockets destroyed past the grace period).
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { AUTHORIZATION_SERVICE_DEFINITION } from "./authorizationServiceDefinition.ts";
import { MAX_CHECK_REQUEST_BYTES } from "./decodeCheckRequest.ts";
import { DeadlineSweeper } from "./DeadlineSweeper.ts";
import { grpcMethodTable } from "./grpcMethodTable.ts";
import { HEALTH_SERVICE_DEFINITION } from "./healthServiceDefinition.ts";
import { NetH2Connection } from "./NetH2Connection.ts";
import { RequestByteBudget } from "./RequestByteBudget.ts";
import type { GrpcServer } from "./startGrpcServer.ts";
import type { Http2GrpcServerOptions } from "./startHttp2GrpcServer.ts";

const KEEPALIVE_TIME_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
const MAX_CONNECTIONS = 10_000;

export async function startNetGrpcServer(options: Http2GrpcServerOptions): Promise<GrpcServer> {
  const connectionOptions = {
    methods: grpcMethodTable([
      [AUTHORIZATION_SERVICE_DEFINITION, options.authorization],
      [HEALTH_SERVICE_DEFINITION, options.health],
    ]),
    maxBytes: options.maxMessageBytes ?? MAX_CHECK_REQUEST_BYTES,
    deadlines: new DeadlineSweeper(options.requestWaitMs),
    budget: options.requestBudget ?? new RequestByteBudget(),
    keepaliveTimeMs: options.keepaliveTimeMs ?? KEEPALIVE_TIME_MS,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS,
  };
  const connections = new Set<NetH2Connection>();
  const sockets = new Set<Socket>();
  let closing = false;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const connection = new NetH2Connection(socket, connectionOptions, () => connections.delete(connection));
    connections.add(connection);
    if (closing) connection.goAway();
  });
  // Refused at accept: net.Server closes a socket past the count before any byte is read.
  server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.host, reusePort: options.reusePort === true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let stopped: Promise<void> | null = null;
  return {
    port: (server.address() as AddressInfo).port,
    shutdown: (graceMs) =>
      (stopped ??= new Promise<void>((resolve) => {
        closing = true;
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const connection of connections) connection.goAway();
      })),
  };
}
