// The forward-auth endpoint's own listener (`forwardAuth.listen`), for deployments that keep it
// apart from the `/oauth2/*` endpoints browsers reach: the endpoint's path (and, for Envoy's
// http_service, every path below it) goes to its handler, every other path is a small JSON 404.
import { renderErrorJson } from "../errors/renderErrorJson.ts";
import { listenHttpServer, type HttpListener } from "../observability/listenHttpServer.ts";
import { isForwardAuthTarget, type ForwardAuthRoute } from "./startAuthServer.ts";

// node:http by getBuiltinModule, as in startAuthServer (no undici in every process).
const { createServer } = process.getBuiltinModule("node:http");

export async function startForwardAuthServer(options: {
  readonly host: string;
  readonly port: number;
  readonly reusePort?: boolean;
  /** The endpoint of the current config; null once a reload turned it off. */
  readonly route: () => ForwardAuthRoute | null;
}): Promise<HttpListener> {
  const server = createServer((req, res) => {
    const route = options.route();
    if (route !== null && isForwardAuthTarget(route, req.url)) return route.handle(req, res);
    const { status, body } = renderErrorJson("not_found");
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  return listenHttpServer(server, options.port, options.host, { reusePort: options.reusePort === true });
}
