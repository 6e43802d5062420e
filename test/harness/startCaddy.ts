// A real Caddy (CADDY_BIN, built by bin/test from the Go module proxy) for the forward-auth tests:
// a Caddyfile run in the foreground with every file Caddy keeps (data, config, autosave) under the
// test's own directory, on a port the caller reserved. `validateCaddyfile` is `caddy validate`
// over a file, as a user checks the shipped example.
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startListeningChild, type RunningChild } from "./startListeningChild.ts";

export function caddyBinary(): string {
  const bin = process.env["CADDY_BIN"];
  if (bin === undefined || bin === "") throw new Error("CADDY_BIN is not set: run the suite with bin/test");
  return bin;
}

/** Caddy's data and config folders under `dir`, never the user's home. */
function caddyEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: join(dir, "caddy-data"),
    XDG_CONFIG_HOME: join(dir, "caddy-config"),
  };
}

/** `caddy validate --adapter caddyfile` over `file`: ok, and Caddy's own words. */
export function validateCaddyfile(dir: string, file: string): { ok: boolean; output: string } {
  const run = spawnSync(caddyBinary(), ["validate", "--adapter", "caddyfile", "--config", file], {
    encoding: "utf8",
    timeout: 30_000,
    env: caddyEnv(dir),
  });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** Writes `dir`/Caddyfile, runs it, and waits until `port` (its site's listener) accepts connections. */
export async function startCaddy(dir: string, caddyfile: string, port: number): Promise<RunningChild> {
  const file = join(dir, "Caddyfile");
  await writeFile(file, caddyfile);
  return startListeningChild({
    name: "caddy",
    command: caddyBinary(),
    args: ["run", "--adapter", "caddyfile", "--config", file],
    port,
    stopSignal: "SIGTERM",
    env: caddyEnv(dir),
  });
}
