// Starts `portcullis serve --config FILE` as a child process (the real CLI, as an operator runs it)
// and waits for its "portcullis ready" log line, which carries the bound ports.
// Output goes to a log file for post-mortems; the child is killed when the test process exits.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
// Well beyond any shutdown.graceSeconds the tests configure, so a slow graceful stop on a loaded
// machine is never cut short into a SIGKILL (which would show up as a null exit code).
const KILL_AFTER_MS = 15_000;

export interface PortcullisProcess {
  readonly pid: number;
  readonly ports: { readonly grpc: number; readonly auth: number; readonly admin: number };
  readonly logFile: string;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone, however it ended. */
  readonly exited: Promise<number | null>;
  /** SIGTERM (graceful), SIGKILL after 15 s; resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
}

const children = new Set<ChildProcess>();
let hooked = false;

export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const c of children) c.kill("SIGKILL");
  });
}

export async function startPortcullisProcess(
  configFile: string,
  logFile: string,
  timeoutMs = 30_000,
  /** Added to the test process's environment (e.g. a secret the config names as `${VAR}`). */
  env: Readonly<Record<string, string>> = {},
  /** More `serve` arguments (e.g. `--watch`, `--workers 2`). */
  serveArgs: readonly string[] = [],
  /** The command before `serve` (e.g. an installed package's bin/portcullis); default this checkout's sources. */
  command: readonly string[] = [process.execPath, "--disable-warning=ExperimentalWarning", MAIN],
): Promise<PortcullisProcess> {
  const [program, ...programArgs] = command;
  if (program === undefined) throw new Error("startPortcullisProcess: an empty command");
  const child = spawn(program, [...programArgs, "serve", "--config", configFile, ...serveArgs], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, NODE_ENV: "test" },
  });
  killOnExit(child);
  const log = createWriteStream(logFile, { flags: "a", mode: 0o600 });
  child.stderr.pipe(log, { end: false });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      exitCode = code;
      resolve(code);
    });
  });

  const ready = new Promise<PortcullisProcess["ports"]>((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`no "portcullis ready" line within ${timeoutMs} ms`)), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString("utf8");
      let newline: number;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (!line.includes('"portcullis ready"')) continue;
        const entry = JSON.parse(line) as { grpcPort: number; authPort: number; adminPort: number };
        clearTimeout(timer);
        resolve({ grpc: entry.grpcPort, auth: entry.authPort, admin: entry.adminPort });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`portcullis exited with code ${code} before it was ready`));
    });
  });

  const stop = async (): Promise<number | null> => {
    if (exitCode === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
      await exited;
      clearTimeout(timer);
    }
    return exitCode ?? null;
  };

  try {
    const ports = await ready;
    return { pid: child.pid ?? -1, ports, logFile, exited, stop };
  } catch (error) {
    await stop();
    const tail = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-15).join("\n");
    throw new Error(`${(error as Error).message}\n--- portcullis log (${logFile}) ---\n${tail}`);
  }
}
