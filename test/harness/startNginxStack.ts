// The forward-auth stack behind Debian's nginx serving the shipped examples/nginx/portcullis.conf,
// with only its marked values (listener, certificate, Portcullis and application addresses)
// changed.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startForwardAuthStack, type ForwardAuthStack } from "./startForwardAuthStack.ts";
import { startNginx } from "./startNginx.ts";
import { REPO_ROOT } from "./startPortcullisProcess.ts";
import { replaceMarkedValues } from "./replaceMarkedValues.ts";

export const NGINX_EXAMPLE = join(REPO_ROOT, "examples/nginx/portcullis.conf");

export type NginxStack = ForwardAuthStack;

/** The example with its marked values replaced; a value no longer in the example fails loudly. */
export function renderNginxExample(
  example: string,
  values: { listen: string; certFile: string; keyFile: string; authPort: number; upstreamPort: number },
): string {
  const replacements: Array<[string, string]> = [
    ["listen 443 ssl;", `listen ${values.listen} ssl;`],
    ["/etc/nginx/tls/app.example.com.crt", values.certFile],
    ["/etc/nginx/tls/app.example.com.key", values.keyFile],
    ["server 127.0.0.1:8181;", `server 127.0.0.1:${values.authPort};`],
    ["server 127.0.0.1:8080;", `server 127.0.0.1:${values.upstreamPort};`],
  ];
  return replaceMarkedValues(example, "examples/nginx/portcullis.conf", replacements);
}

export function startNginxStack(): Promise<NginxStack> {
  return startForwardAuthStack({
    prefix: "portcullis-nginx-",
    forwardAuth: {},
    startProxy: async (start) => {
      const site = renderNginxExample(await readFile(NGINX_EXAMPLE, "utf8"), {
        listen: `127.0.0.1:${start.port}`,
        certFile: start.certFile,
        keyFile: start.keyFile,
        authPort: start.authPort,
        upstreamPort: start.upstreamPort,
      });
      return startNginx(start.dir, site, start.port);
    },
  });
}
