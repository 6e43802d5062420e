// Starts the bench's helper processes and guarantees they all stop: on stopAll(), on a signal to
// the bench, and (as a last resort, SIGKILL) when the bench process exits for any reason.
// Each child keeps only the last lines of its output, so a failure can be explained in a bounded way.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createInterface } from "node:readline";

const KEPT_LINES = 40;
const MAX_COLLECTED_CHARS = 1_000_000;

export interface ManagedChild {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves with the first stdout line `test` accepts; rejects on exit or after timeoutMs. */
  waitForLine<T>(test: (line: string) => T | undefined, timeoutMs: number): Promise<T>;
  /** Resolves with everything the child printed on stdout (bounded) once it exits; SIGKILLs it after timeoutMs. */
  collectStdout(timeoutMs: number): Promise<{ code: number | null; stdout: string }>;
  /** The last lines the child wrote (stdout and stderr), for error messages. */
  tail(): string;
  readonly exited: Promise<number | null>;
}

export class ChildProcessGroup {
  readonly #children = new Set<ManagedChild>();
  readonly #onExit = () => {
    for (const child of this.#children)
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
  };

  constructor() {
    process.once("exit", this.#onExit);
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedChild {
    const proc = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    const kept: string[] = [];
    const keep = (stream: string, line: string) => {
      kept.push(`[${name} ${stream}] ${line}`);
      if (kept.length > KEPT_LINES) kept.shift();
    };
    const lineListeners = new Set<(line: string) => void>();
    let collected = "";
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      keep("out", line);
      if (collected.length < MAX_COLLECTED_CHARS) collected += `${line}\n`;
      for (const listener of lineListeners) listener(line);
    });
    createInterface({ input: proc.stderr! }).on("line", (line) => keep("err", line));
    const exited = new Promise<number | null>((resolve) => {
      proc.once("exit", (code) => resolve(code));
      proc.once("error", () => resolve(null));
    });
    const child: ManagedChild = {
      name,
      process: proc,
      exited,
      tail: () => kept.join("\n"),
      collectStdout: async (timeoutMs) => {
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          proc.kill("SIGKILL");
        }, timeoutMs);
        const code = await exited;
        clearTimeout(timer);
        if (timedOut) throw new Error(`${name}: still running after ${timeoutMs} ms, killed\n${kept.join("\n")}`);
        return { code, stdout: collected };
      },
      waitForLine: <T>(test: (line: string) => T | undefined, timeoutMs: number) =>
        new Promise<T>((resolve, reject) => {
          const done = () => {
            clearTimeout(timer);
            lineListeners.delete(listener);
          };
          const listener = (line: string) => {
            const value = test(line);
            if (value === undefined) return;
            done();
            resolve(value);
          };
          const timer = setTimeout(() => {
            done();
            reject(new Error(`${name}: not ready after ${timeoutMs} ms\n${kept.join("\n")}`));
          }, timeoutMs);
          lineListeners.add(listener);
          void exited.then((code) => {
            if (!lineListeners.has(listener)) return;
            done();
            reject(new Error(`${name} exited (code ${code}) before it was ready\n${kept.join("\n")}`));
          });
        }),
    };
    this.#children.add(child);
    void exited.then(() => this.#children.delete(child));
    return child;
  }

  /** SIGTERM every child, SIGKILL whatever is still running after graceMs. */
  async stopAll(graceMs = 3000): Promise<void> {
    const running = [...this.#children];
    for (const child of running) child.process.kill("SIGTERM");
    await Promise.all(
      running.map(async (child) => {
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            child.process.kill("SIGKILL");
            resolve();
          }, graceMs);
        });
        await Promise.race([child.exited, killed]);
        clearTimeout(timer);
        await child.exited;
      }),
    );
  }
}
