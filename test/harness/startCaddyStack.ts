// The forward-auth stack behind a real Caddy serving the shipped examples/caddy/Caddyfile, with
// only its marked values changed (site address → https://localhost:<port> bound to 127.0.0.1 with
// the stack's certificate, Portcullis's and the application's addresses) and test-only global
// options in front: no admin endpoint, no HTTP→HTTPS redirect listener, no HTTP/3 (UDP), no OCSP.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startCaddy } from "./startCaddy.ts";
import { startForwardAuthStack, type ForwardAuthStack, type FrontProxyStart } from "./startForwardAuthStack.ts";
import { REPO_ROOT } from "./startPortcullisProcess.ts";
import { replaceMarkedValues } from "./replaceMarkedValues.ts";

export const CADDY_EXAMPLE = join(REPO_ROOT, "examples/caddy/Caddyfile");

/** The example with its marked values replaced by the stack's. */
export function renderCaddyExample(example: string, values: Omit<FrontProxyStart, "dir">): string {
  const replacements: Array<[string, string]> = [
    [
      "\napp.example.com {\n",
      `\nhttps://localhost:${values.port} {\n\tbind 127.0.0.1\n\ttls ${values.certFile} ${values.keyFile}\n`,
    ],
    ["127.0.0.1:8181", `127.0.0.1:${values.authPort}`],
    ["127.0.0.1:8080", `127.0.0.1:${values.upstreamPort}`],
  ];
  const site = replaceMarkedValues(example, "examples/caddy/Caddyfile", replacements, true);
  const global = `{
\tadmin off
\tauto_https disable_redirects
\tskip_install_trust
\tocsp_stapling off
\tservers {
\t\tprotocols h1 h2
\t}
}
`;
  return global + site;
}

export function startCaddyStack(
  forwardAuth: Readonly<Record<string, unknown>> = { proxy: "caddy" },
): Promise<ForwardAuthStack> {
  return startForwardAuthStack({
    prefix: "portcullis-caddy-",
    forwardAuth,
    startProxy: async (start) => {
      const caddyfile = renderCaddyExample(await readFile(CADDY_EXAMPLE, "utf8"), start);
      return startCaddy(start.dir, caddyfile, start.port);
    },
  });
}
