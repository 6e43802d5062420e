// Starts the bench's helper processes and guarantees they all stop: on stopAll(), on a signal to
// the bench, and (as a last resort, SIGKILL) when the bench process exits for any reason.
// Each child keeps only the last lines of its output, so a failure can be explained in a bounded way.
// With pinning on, servers run on one CPU set and load generators on another (taskset).
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
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

/** A child's side of the pinning: the measured servers, or the load generators (the default). */
export type ChildRole = "server" | "load";

/** CPU lists in taskset's syntax ("0", "1", "0-1"). */
export interface CpuPinning {
  readonly server: string;
  readonly load: string;
  /** Every CPU: what an unpinned phase gives all children. */
  readonly all: string;
}

export class ChildProcessGroup {
  readonly #children = new Set<ManagedChild>();
  readonly #roles = new Map<ManagedChild, ChildRole>();
  readonly #pinning: CpuPinning | null;
  #pinned: boolean;
  readonly #onExit = () => {
    for (const child of this.#children)
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
  };

  constructor(pinning: CpuPinning | null = null) {
    this.#pinning = pinning;
    this.#pinned = pinning !== null;
    process.once("exit", this.#onExit);
  }

  /** Whether children are pinned now (new ones are started with taskset). */
  get pinned(): boolean {
    return this.#pinned;
  }

  /**
   * Pins (or unpins: every CPU) the running children and those started later; `taskset -a` moves
   * every thread of a child (Envoy's workers, Node's and Go's runtime threads).
   */
  setPinned(on: boolean): void {
    if (this.#pinning === null || on === this.#pinned) return;
    this.#pinned = on;
    for (const [child, role] of this.#roles) {
      const pid = child.process.pid;
      if (pid === undefined || child.process.exitCode !== null) continue;
      spawnSync("taskset", ["-a", "-p", "-c", this.#cpusFor(role), String(pid)], { stdio: "ignore", timeout: 5000 });
    }
  }

  #cpusFor(role: ChildRole): string {
    const p = this.#pinning!;
    return this.#pinned ? p[role] : p.all;
  }

  spawn(
    name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions & { role?: ChildRole } = {},
  ): ManagedChild {
    const { role = "load", ...spawnOptions } = options;
    // taskset execs the command: the child's pid is the command's own.
    const [file, argv] =
      this.#pinning === null ? [command, args] : ["taskset", ["-c", this.#cpusFor(role), command, ...args]];
    const proc = spawn(file, argv, { ...spawnOptions, stdio: ["ignore", "pipe", "pipe"] });
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
    this.#roles.set(child, role);
    void exited.then(() => {
      this.#children.delete(child);
      this.#roles.delete(child);
    });
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
