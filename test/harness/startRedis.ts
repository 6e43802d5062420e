// A real Redis for tests: Debian's redis-server on a free loopback port, no persistence (no RDB, no
// AOF), its own temporary directory. stop() and start() again on the same port let a test take
// Redis away mid-run and bring it back; close() removes everything. With PORTCULLIS_TEST_CONTAINERS=1,
// a container instead (startRedisContainer.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { reservePort } from "./reservePort.ts";
import { testComponentSource } from "./testComponentSource.ts";

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGKILL: like a crash, nothing flushed); the port stays ours. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (nothing was persisted). */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing answers, like a hung Redis. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT), its data intact. */
  resume(): void;
  /** Runs one command on a connection of its own and returns the reply as ioredis decodes it. */
  command(...args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

export function redisServerBinary(): string {
  return process.env["REDIS_SERVER_BIN"] ?? "/usr/bin/redis-server";
}

export async function startRedis(options: { password?: string } = {}): Promise<TestRedis> {
  if (testComponentSource() === "containers")
    return (await import("./startRedisContainer.ts")).startRedisContainer(options);
  const reserved = await reservePort();
  const port = reserved.port;
  await reserved.release();
  const dir = mkdtempSync(join(tmpdir(), "portcullis-redis-"));
  let child: ChildProcess | null = null;

  const start = async () => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
      "--protected-mode",
      "yes",
    ];
    if (options.password) args.push("--requirepass", options.password);
    const proc = spawn(redisServerBinary(), args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child = proc;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${stderr.slice(0, 300)}`);
      if (await answers(port)) return;
      if (Date.now() > deadline) throw new Error("redis-server did not answer within 10 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async () => {
    const proc = child;
    proc?.kill("SIGCONT");
    child = null;
    if (proc === null || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGKILL");
    });
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => void (child as ChildProcess | null)?.kill("SIGSTOP"),
    resume: () => void (child as ChildProcess | null)?.kill("SIGCONT"),
    command: (...args) => redisCommand(port, args, options.password),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(false));
    socket.on("data", (d) => {
      socket.destroy();
      // -NOAUTH: a password-protected server is up too.
      resolve(/^(\+PONG|-NOAUTH)/.test(d.toString("latin1")));
    });
    socket.on("connect", () => socket.write("PING\r\n"));
  });
}

export async function redisCommand(port: number, args: readonly string[], password?: string): Promise<unknown> {
  const client = new Redis({
    host: "127.0.0.1",
    port,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
  });
  try {
    await client.connect();
    const [name, ...rest] = args;
    return await client.call(name as string, ...rest);
  } finally {
    client.disconnect();
  }
}
