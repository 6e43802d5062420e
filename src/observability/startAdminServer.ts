// The admin listener: /metrics (Prometheus), /healthz (process alive), /readyz (every provider's
// discovery and JWKS loaded and not shutting down), and under /admin/ the session-control API when
// the composition root hands one (any method there; everything else is GET-only). Bind it to
// loopback: it is not for clients.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { createBoundedHttpServer, type PeerTimeLimits } from "./createBoundedHttpServer.ts";
import { listenHttpServer } from "./listenHttpServer.ts";

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  /** A process's registry, or what the `serve --workers` supervisor aggregates from its workers. */
  registry: Pick<Registry, "metrics" | "contentType">;
  /** Returns null when ready, else a short reason shown in the /readyz body. */
  notReadyReason: () => string | null;
  /** Returns null while the process can serve, else why /healthz answers 503 (a supervisor with no worker running). */
  unhealthyReason?: () => string | null;
  /**
   * Something that does not make the process unready but must be visible (Redis down: session
   * requests get 503 while bearer tokens still pass, so taking the replica out would only hurt).
   */
  degradedReason?: () => string | null;
  /** Paths under /admin/: true when it took the request; false (or absent) answers 404 as for any unknown path. */
  adminApi?: { handle(req: IncomingMessage, res: ServerResponse): boolean };
  /** How long a peer may take (default PEER_TIME_LIMITS, as the auth listener's); tests pass smaller ones. */
  peerTimeLimits?: PeerTimeLimits;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server: Server = createBoundedHttpServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path === "/admin" || path.startsWith("/admin/")) {
      if (options.adminApi?.handle(req, res) !== true)
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (path === "/healthz") {
      const unhealthy = options.unhealthyReason?.() ?? null;
      res
        .writeHead(unhealthy === null ? 200 : 503, { "content-type": "text/plain", "cache-control": "no-store" })
        .end(unhealthy === null ? "ok\n" : `unhealthy: ${unhealthy}\n`);
      return;
    }
    if (path === "/readyz") {
      const reason = options.notReadyReason();
      const degraded = reason === null ? (options.degradedReason?.() ?? null) : null;
      res
        .writeHead(reason === null ? 200 : 503, { "content-type": "text/plain", "cache-control": "no-store" })
        .end(
          reason !== null ? `not ready: ${reason}\n` : degraded !== null ? `ready, degraded: ${degraded}\n` : "ready\n",
        );
      return;
    }
    if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": options.registry.contentType }).end(text),
        () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }, options.peerTimeLimits);
  server.keepAliveTimeout = 5_000;
  return listenHttpServer(server, options.port, options.host);
}
