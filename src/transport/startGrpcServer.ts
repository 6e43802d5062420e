// Binds the gRPC server that carries ext_authz Check and grpc.health.v1. Shutdown is graceful:
// in-flight calls finish, then the server closes; past the grace period it is forced. With `tls`,
// grpc-js's certificate-provider credentials, so a renewed certificate is used without a restart.
import { Server, ServerCredentials, experimental, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { AUTHORIZATION_SERVICE_DEFINITION } from "./authorizationServiceDefinition.ts";
import { HEALTH_SERVICE_DEFINITION } from "./healthServiceDefinition.ts";
import type { ServerTls } from "./ServerTls.ts";

export interface GrpcServer {
  readonly port: number;
  /** Stops accepting calls, lets in-flight ones finish, forces after graceMs. */
  shutdown(graceMs: number): Promise<void>;
}

export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly authorization: UntypedServiceImplementation;
  readonly health: UntypedServiceImplementation;
  /** SO_REUSEPORT, so `serve --workers` processes share the port (the node:http2 server only; grpc-js cannot set it). */
  readonly reusePort?: boolean;
  /** TLS instead of h2c; its key pair may be replaced while serving (the minimum version stays node's, TLS 1.2). */
  readonly tls?: ServerTls;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const server = new Server({
    // Envoy holds long-lived HTTP/2 connections; keepalive lets dead peers be noticed.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    "grpc.max_receive_message_length": 1024 * 1024,
    // channelz bookkeeping costs every call and nothing here reads it.
    "grpc.enable_channelz": 0,
    // Bounds concurrent checks per connection; Envoy opens more connections when it needs them.
    "grpc.max_concurrent_streams": 1000,
  });
  server.addService(AUTHORIZATION_SERVICE_DEFINITION, options.authorization);
  server.addService(HEALTH_SERVICE_DEFINITION, options.health);
  const address = options.host.includes(":") ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentialsOf(options.tls), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/**
 * grpc-js's certificate-provider credentials, fed by the listener's TLS: it calls setSecureContext on
 * its server for each new key pair, so new handshakes use it and open connections keep theirs.
 */
function credentialsOf(tls: ServerTls | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const options = tls.serverOptions();
  const pem = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(String(value)));
  let identity: experimental.IdentityCertificateUpdate = {
    certificate: pem(options.cert),
    privateKey: pem(options.key),
  };
  let ca: experimental.CaCertificateUpdate | null =
    options.ca === undefined ? null : { caCertificate: pem(options.ca) };
  const identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  const caListeners = new Set<experimental.CaCertificateUpdateListener>();
  tls.onReplace((context) => {
    identity = { certificate: pem(context.cert), privateKey: pem(context.key) };
    if (context.ca !== undefined) ca = { caCertificate: pem(context.ca) };
    for (const listener of identityListeners) listener(identity);
    for (const listener of caListeners) listener(ca);
  });
  const provider: experimental.CertificateProvider = {
    // Answered after grpc-js has registered its server's watcher, which it does after adding these.
    addIdentityCertificateListener(listener) {
      identityListeners.add(listener);
      queueMicrotask(() => listener(identity));
    },
    removeIdentityCertificateListener: (listener) => identityListeners.delete(listener),
    addCaCertificateListener(listener) {
      caListeners.add(listener);
      queueMicrotask(() => listener(ca));
    },
    removeCaCertificateListener: (listener) => caListeners.delete(listener),
  };
  return experimental.createCertificateProviderServerCredentials(
    provider,
    ca === null ? null : provider,
    options.rejectUnauthorized === true,
  );
}
