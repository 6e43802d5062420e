// The gRPC server on node:net: Portcullis's own HTTP/2 (h2c) framing for ext_authz Check and
// grpc.health.v1 Check/Watch, a drop-in for startHttp2GrpcServer (same options, same GrpcServer
// contract) without node:http2's per-stream objects: a cached check costs a quarter of node:http2's
// transport CPU (docs/operations.md, Transports). Kept from the others: keepalive pings, the stream cap,
// the 1 MiB message limit, deadlines, status trailers, the request-byte budget, the connection cap and
// a graceful shutdown (GOAWAY, in-flight calls finish, sockets destroyed past the grace period).
// With `tls`, the same framing runs over node:tls (ALPN h2), its certificate replaced without a restart.
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServerOf, type TLSSocket } from "node:tls";
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
import type { ServerTls } from "./ServerTls.ts";

const KEEPALIVE_TIME_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
const MAX_CONNECTIONS = 10_000;
/** A peer that has not finished its TLS handshake by then is dropped (node's default is 120 s). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

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
  const serve = (socket: Socket) => {
    const connection = new NetH2Connection(socket, connectionOptions, () => connections.delete(connection));
    connections.add(connection);
    if (closing) connection.goAway();
  };
  const server = options.tls === undefined ? createServer(serve) : createTlsServer(options.tls, serve);
  // Every accepted socket, a TLS one still in its handshake too, is what the grace period ends.
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
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

/**
 * TLS with ALPN h2 in front of the same framing: a client that offers ALPN must offer h2 (Envoy's
 * gRPC cluster does); new key pairs apply to the next handshakes, open connections keep theirs.
 */
function createTlsServer(tls: ServerTls, serve: (socket: Socket) => void): Server {
  const server = createTlsServerOf(
    { ...tls.serverOptions(), ALPNProtocols: ["h2"], handshakeTimeout: HANDSHAKE_TIMEOUT_MS },
    (socket: TLSSocket) => serve(socket),
  );
  // A failed handshake (no client certificate, a wrong CA, a plaintext peer) is the peer's problem:
  // its socket is destroyed by node, nothing else to do.
  server.on("tlsClientError", () => undefined);
  const stop = tls.onReplace((context) => server.setSecureContext(context));
  server.once("close", stop);
  return server;
}
