// A real nginx (Debian's, NGINX_BIN) for the forward-auth tests: a site config (a file meant for
// nginx's `http {}` block, such as examples/nginx/portcullis.conf) wrapped in a main config that
// keeps every file in the test's own directory, in the foreground as one process, on a port the
// caller reserved. `testNginxConfig` is `nginx -t` over the same wrapper.
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startListeningChild, type RunningChild } from "./startListeningChild.ts";

export function nginxBinary(): string {
  return process.env["NGINX_BIN"] ?? "/usr/sbin/nginx";
}

/** Writes `dir`/nginx.conf including `dir`/site.conf; returns the main config's path. */
async function writeMainConfig(dir: string, site: string): Promise<string> {
  await writeFile(join(dir, "site.conf"), site);
  const main = join(dir, "nginx.conf");
  // One foreground process (no master, no privilege drop), all state under `dir`.
  await writeFile(
    main,
    `daemon off;
master_process off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "nginx-error.log")} info;
events { worker_connections 256; }
http {
  access_log ${join(dir, "nginx-access.log")};
  client_body_temp_path ${join(dir, "client_body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  include ${join(dir, "site.conf")};
}
`,
  );
  return main;
}

/** `nginx -t` over `site`: ok, and nginx's own words. */
export async function testNginxConfig(dir: string, site: string): Promise<{ ok: boolean; output: string }> {
  const main = await writeMainConfig(dir, site);
  const run = spawnSync(nginxBinary(), ["-t", "-p", dir, "-e", join(dir, "nginx-error.log"), "-c", main], {
    encoding: "utf8",
    timeout: 20_000,
  });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Starts nginx with `site`, and waits until `port` (the site's listener) accepts connections. */
export async function startNginx(dir: string, site: string, port: number): Promise<RunningChild> {
  const main = await writeMainConfig(dir, site);
  return startListeningChild({
    name: "nginx",
    command: nginxBinary(),
    args: ["-p", dir, "-e", join(dir, "nginx-error.log"), "-c", main],
    port,
    stopSignal: "SIGQUIT",
  });
}
