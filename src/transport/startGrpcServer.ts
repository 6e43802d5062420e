// Binds the gRPC server that carries ext_authz Check and grpc.health.v1. Shutdown is graceful:
// in-flight calls finish, then the server closes; past the grace period it is forced.
import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { AUTHORIZATION_SERVICE_DEFINITION } from "./authorizationServiceDefinition.ts";
import { HEALTH_SERVICE_DEFINITION } from "./healthServiceDefinition.ts";

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
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
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
