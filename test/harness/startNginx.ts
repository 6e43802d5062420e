// A real nginx (Debian's, NGINX_BIN) for the forward-auth tests: a site config (a file meant for
// nginx's `http {}` block, such as examples/nginx/portcullis.conf) wrapped in a main config that
// keeps every file in the test's own directory, in the foreground as one process, on a port the
// caller reserved. `testNginxConfig` is `nginx -t` over the same wrapper.
import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { killOnExit } from "./startPortcullisProcess.ts";
import { waitUntil } from "./waitUntil.ts";

export interface RunningNginx {
  readonly pid: number;
  stop(): Promise<void>;
}

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
export async function startNginx(dir: string, site: string, port: number): Promise<RunningNginx> {
  const main = await writeMainConfig(dir, site);
  const child = spawn(nginxBinary(), ["-p", dir, "-e", join(dir, "nginx-error.log"), "-c", main], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  killOnExit(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const listening = await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) return resolve(false);
        const socket = createConnection({ host: "127.0.0.1", port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      }),
    15_000,
  );
  if (!listening) {
    child.kill("SIGKILL");
    throw new Error(`nginx did not listen on ${port}: ${stderr.trim()}`);
  }
  return {
    pid: child.pid as number,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGQUIT");
      await exited;
    },
  };
}
