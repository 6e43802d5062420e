// The forward-auth endpoint's own listener (`forwardAuth.listen`), for deployments that keep it
// apart from the `/oauth2/*` endpoints browsers reach: the endpoint's path (and, for Envoy's
// http_service, every path below it) goes to its handler, every other path is a small JSON 404.
import { renderErrorJson } from "../errors/renderErrorJson.ts";
import { listenHttpServer, type HttpListener } from "../observability/listenHttpServer.ts";
import { createBoundedHttpServer, type PeerTimeLimits } from "../observability/createBoundedHttpServer.ts";
import { isForwardAuthTarget, type ForwardAuthRoute } from "./startAuthServer.ts";

export async function startForwardAuthServer(options: {
  readonly host: string;
  readonly port: number;
  readonly reusePort?: boolean;
  /** The endpoint of the current config; null once a reload turned it off. */
  readonly route: () => ForwardAuthRoute | null;
  /** How long a peer may take; default PEER_TIME_LIMITS. */
  readonly peerTimeLimits?: PeerTimeLimits;
}): Promise<HttpListener> {
  const server = createBoundedHttpServer((req, res) => {
    const route = options.route();
    if (route !== null && isForwardAuthTarget(route, req.url)) return route.handle(req, res);
    const { status, body } = renderErrorJson("not_found");
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
  }, options.peerTimeLimits);
  return listenHttpServer(server, options.port, options.host, { reusePort: options.reusePort === true });
}
