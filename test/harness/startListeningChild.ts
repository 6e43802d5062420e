// A front proxy under test (nginx, Caddy) as one foreground child process: started, its stderr kept
// for the failure message, and waited on until it accepts connections on the loopback port the
// caller reserved for it. stop() sends the proxy's graceful signal and waits for it to exit.
import { spawn } from "node:child_process";
import { createConnection } from "node:net";
import { killOnExit } from "./startPortcullisProcess.ts";
import { waitUntil } from "./waitUntil.ts";

export interface RunningChild {
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startListeningChild(options: {
  /** For the failure message, e.g. "nginx". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly stopSignal: NodeJS.Signals;
  readonly env?: NodeJS.ProcessEnv;
}): Promise<RunningChild> {
  const child = spawn(options.command, options.args, {
    stdio: ["ignore", "ignore", "pipe"],
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  killOnExit(child);
  let stderr = "";
  // Only the tail is kept (it says why a start failed); a long test run's log lines are not.
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const listening = await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) return resolve(false);
        const socket = createConnection({ host: "127.0.0.1", port: options.port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      }),
    15_000,
  );
  if (!listening) {
    child.kill("SIGKILL");
    throw new Error(`${options.name} did not listen on ${options.port}: ${stderr.trim()}`);
  }
  return {
    pid: child.pid as number,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill(options.stopSignal);
      await exited;
    },
  };
}
