// The forward-auth stack behind the pinned Envoy with ext_authz over HTTP (http_service), serving
// the shipped envoy/envoy-http-ext-authz.yaml with only its marked values changed: the listener on
// 127.0.0.1:<port> with the stack's certificate, the admin on an ephemeral loopback port (the
// harness reads readiness there), the domain localhost:<port>, and Portcullis's and the
// application's addresses. Portcullis runs with `forwardAuth.proxy: envoy`.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startEnvoy } from "../../src/demo/startEnvoy.ts";
import { startForwardAuthStack, type ForwardAuthStack, type FrontProxyStart } from "./startForwardAuthStack.ts";
import { REPO_ROOT } from "./startPortcullisProcess.ts";
import { replaceMarkedValues } from "./replaceMarkedValues.ts";

export const ENVOY_HTTP_EXAMPLE = join(REPO_ROOT, "envoy/envoy-http-ext-authz.yaml");

/** The example with its marked values replaced by the stack's. */
export function renderEnvoyHttpExample(example: string, values: Omit<FrontProxyStart, "dir">): string {
  const replacements: Array<[string, string]> = [
    [
      "socket_address: { address: 127.0.0.1, port_value: 9901 }",
      "socket_address: { address: 127.0.0.1, port_value: 0 }",
    ],
    [
      "socket_address: { address: 0.0.0.0, port_value: 443 }",
      `socket_address: { address: 127.0.0.1, port_value: ${values.port} }`,
    ],
    ["/etc/envoy/tls/fullchain.pem", values.certFile],
    ["/etc/envoy/tls/privkey.pem", values.keyFile],
    ['domains: ["app.example.com"]', `domains: ["localhost:${values.port}"]`],
    [
      "socket_address: { address: portcullis, port_value: 8181 }",
      `socket_address: { address: 127.0.0.1, port_value: ${values.authPort} }`,
    ],
    [
      "socket_address: { address: app, port_value: 8080 }",
      `socket_address: { address: 127.0.0.1, port_value: ${values.upstreamPort} }`,
    ],
  ];
  return replaceMarkedValues(example, "envoy/envoy-http-ext-authz.yaml", replacements);
}

export function startEnvoyHttpStack(
  forwardAuth: Readonly<Record<string, unknown>> = { proxy: "envoy" },
): Promise<ForwardAuthStack> {
  return startForwardAuthStack({
    prefix: "portcullis-envoy-http-",
    forwardAuth,
    startProxy: async (start) => {
      const config = renderEnvoyHttpExample(await readFile(ENVOY_HTTP_EXAMPLE, "utf8"), start);
      return startEnvoy({ config, logFile: join(start.dir, "envoy.log") });
    },
  });
}
