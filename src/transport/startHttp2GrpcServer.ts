// A minimal gRPC server on node:http2 (h2c, as Envoy's cluster speaks) for ext_authz Check and
// grpc.health.v1 Check/Watch, a drop-in for startGrpcServer (same options, same GrpcServer contract)
// without grpc-js's per-call machinery. Kept from grpc-js: its keepalive pings, the stream cap, the
// 1 MiB receive limit, deadlines, status trailers, and a graceful shutdown (GOAWAY, in-flight calls
// finish, forced past the grace period). Added: one budget of request bytes in flight across all
// calls (RequestByteBudget) and a cap on connections, so no number of peers can grow its memory unbounded.
// With `tls`, a node:http2 secure server (ALPN h2) whose certificate is replaced without a restart.
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { AUTHORIZATION_SERVICE_DEFINITION } from "./authorizationServiceDefinition.ts";
import { MAX_CHECK_REQUEST_BYTES } from "./decodeCheckRequest.ts";
import { GrpcCode, isGrpcProtoContentType, parseGrpcTimeout, RESPOND_AND_END, trailersOnly } from "./grpcWire.ts";
import { DeadlineSweeper } from "./DeadlineSweeper.ts";
import { RequestByteBudget } from "./RequestByteBudget.ts";
import type { GrpcMethod } from "./GrpcCall.ts";
import { grpcMethodTable } from "./grpcMethodTable.ts";
import { serveHttp2Call } from "./serveHttp2Call.ts";
import { releaseClosedStream } from "./releaseClosedStream.ts";
import { HEALTH_SERVICE_DEFINITION } from "./healthServiceDefinition.ts";
import type { GrpcServer } from "./startGrpcServer.ts";
import type { ServerTls } from "./ServerTls.ts";

/** The same settings startGrpcServer gives grpc-js. */
const KEEPALIVE_TIME_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
/**
 * Not lower: Envoy's HTTP/2 upstream pool sizes itself by its own max_concurrent_streams, not the
 * server's SETTINGS (envoyproxy/envoy#13933, open), so past a lower cap its checks would wait queued
 * inside one connection instead of opening another. Memory is bounded by the request-byte budget.
 */
const MAX_CONCURRENT_STREAMS = 1000;
/**
 * Connections past this are closed at accept. Envoy keeps a few per worker and upstream host, so
 * even a large mesh of sidecars stays far below it; it bounds the per-connection memory (node:http2's
 * session, socket buffers) a flood of idle connections would otherwise hold without limit.
 */
const MAX_CONNECTIONS = 10_000;
/** A peer that has not finished its TLS handshake by then is dropped (node's default is 120 s). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface Http2GrpcServerOptions {
  host: string;
  port: number;
  authorization: UntypedServiceImplementation;
  health: UntypedServiceImplementation;
  /** SO_REUSEPORT: each `serve --workers` worker listens on the same port with its own socket. */
  reusePort?: boolean;
  /** Overrides for tests; production uses the grpc-js server's values. */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  maxMessageBytes?: number;
  /** How long a call without grpc-timeout may take to send its whole request (default 30 s). */
  requestWaitMs?: number;
  /** The budget of request bytes in flight; a test's own to read its count (default MAX_BUFFERED_REQUEST_BYTES). */
  requestBudget?: RequestByteBudget;
  maxConnections?: number;
  /** TLS (ALPN h2) instead of h2c; its key pair may be replaced while serving. */
  tls?: ServerTls;
}

const ignore = (): void => undefined;

/** An answer before any call exists (no gRPC, no such method, a bad grpc-timeout), and its stream's listeners let go once closed. */
function refuse(stream: ServerHttp2Stream, headers: OutgoingHttpHeaders): void {
  stream.once("close", () => releaseClosedStream(stream));
  stream.respond(headers, RESPOND_AND_END);
}

function routeStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  methods: ReadonlyMap<string, GrpcMethod>,
  maxBytes: number,
  deadlines: DeadlineSweeper,
  budget: RequestByteBudget,
): void {
  // An error is always followed by 'close', which the call handles; without a listener it would throw.
  stream.on("error", ignore);
  // A call lets go of its stream's listeners itself, from its own 'close' listener (one listener less per call).
  if (headers[":method"] !== "POST") {
    refuse(stream, { ":status": 405, allow: "POST" });
    return;
  }
  // grpc answers a request that is not gRPC at the HTTP level: 415, as grpc-js does.
  if (!isGrpcProtoContentType(headers["content-type"])) {
    refuse(stream, { ":status": 415 });
    return;
  }
  const path = headers[":path"] ?? "";
  const method = methods.get(path);
  if (method === undefined) {
    refuse(stream, trailersOnly(GrpcCode.UNIMPLEMENTED, `The server does not implement the method ${path}`));
    return;
  }
  const timeoutMs = parseGrpcTimeout(headers["grpc-timeout"]);
  if (timeoutMs === null) {
    refuse(stream, trailersOnly(GrpcCode.INTERNAL, `Invalid grpc-timeout value "${headers["grpc-timeout"]}"`));
    return;
  }
  const encoding = headers["grpc-encoding"] as string | undefined;
  serveHttp2Call(stream, method, { path, encoding, timeoutMs, maxBytes, deadlines, budget });
}

/** grpc-js's server keepalive: a ping every keepaliveTimeMs; no ack within keepaliveTimeoutMs drops the connection. */
function keepAlive(session: Http2Session, timeMs: number, timeoutMs: number): void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(ping, timeMs);
    timer.unref();
  };
  const ping = () => {
    if (session.destroyed || session.closed) return;
    const deadline = setTimeout(() => session.destroy(), timeoutMs);
    deadline.unref();
    timer = deadline;
    let sent = false;
    try {
      sent = session.ping((error) => {
        clearTimeout(deadline);
        if (error) session.destroy();
        else schedule();
      });
    } catch {
      sent = false;
    }
    if (!sent) {
      clearTimeout(deadline);
      session.destroy();
    }
  };
  schedule();
  session.on("close", () => clearTimeout(timer));
}

export async function startHttp2GrpcServer(options: Http2GrpcServerOptions): Promise<GrpcServer> {
  const methods = grpcMethodTable([
    [AUTHORIZATION_SERVICE_DEFINITION, options.authorization],
    [HEALTH_SERVICE_DEFINITION, options.health],
  ]);
  const maxBytes = options.maxMessageBytes ?? MAX_CHECK_REQUEST_BYTES;
  const serverOptions = {
    settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    // As grpc-js: node's session memory limit degrades badly when reached (ENHANCE_YOUR_CALM under
    // bursts), and the stream cap bounds a connection's work instead.
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
    maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
  };
  const server = options.tls === undefined ? createServer(serverOptions) : createTlsServer(options.tls, serverOptions);
  // Refused at accept: net.Server closes a socket past the count before node:http2 sees it.
  server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  const sessions = new Set<Http2Session>();
  // A session closed gracefully ends its socket and then waits for the peer to close its side; a
  // peer that never does would hold the listener's close (and the process's exit) forever, so the
  // sockets themselves are what the grace period ends.
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => undefined); // followed by 'close'
    keepAlive(
      session,
      options.keepaliveTimeMs ?? KEEPALIVE_TIME_MS,
      options.keepaliveTimeoutMs ?? KEEPALIVE_TIMEOUT_MS,
    );
  });
  const deadlines = new DeadlineSweeper(options.requestWaitMs);
  const budget = options.requestBudget ?? new RequestByteBudget();
  server.on("stream", (stream, headers) => routeStream(stream, headers, methods, maxBytes, deadlines, budget));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port, host: options.host, reusePort: options.reusePort === true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let closing: Promise<void> | null = null;
  return {
    port: (server.address() as AddressInfo).port,
    shutdown: (graceMs) => (closing ??= shutdown(server, sessions, sockets, graceMs)),
  };
}

/**
 * No new connections; every session gets GOAWAY and closes once its streams finish; past graceMs the
 * rest, and every socket still open (a peer that has not closed its side), are destroyed. Resolves
 * when the listener has closed, which is once every connection has.
 */
function shutdown(
  server: Http2Server | Http2SecureServer,
  sessions: Set<Http2Session>,
  sockets: Set<Socket>,
  graceMs: number,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    for (const session of sessions) session.close();
  });
}

/** node:http2 over TLS, HTTP/2 only; new key pairs apply to the next handshakes, open sessions keep theirs. */
function createTlsServer(tls: ServerTls, options: Parameters<typeof createServer>[0]): Http2SecureServer {
  const server = createSecureServer({
    ...options,
    ...tls.serverOptions(),
    allowHTTP1: false,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  // A failed handshake (no client certificate, a wrong CA) ends that socket; nothing else to do.
  server.on("tlsClientError", () => undefined);
  const stop = tls.onReplace((context) => server.setSecureContext(context));
  server.once("close", stop);
  return server;
}
