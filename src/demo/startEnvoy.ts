// Runs Envoy as a child process with a rendered config, waits until it is LIVE and reads back the
// ports it bound (port 0 works for the listener and the admin). The child is killed when this
// process exits, whatever the reason, so a crashed test or demo never leaves an Envoy behind.
// This module is the public surface for Envoy in the demo, the tests and the benchmark: the demo
// Envoy config (rendered from envoy/demo.yaml) and the localhost certificate come from here too.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

export { ensureDemoCertificate } from "./ensureDemoCertificate.ts";
export type { DemoCertificate } from "./ensureDemoCertificate.ts";
export { DEMO_ENVOY_TEMPLATE, fillTemplate, renderEnvoyConfig } from "./renderEnvoyConfig.ts";
export type { EnvoyConfigValues } from "./renderEnvoyConfig.ts";

export interface EnvoyOptions {
  /** The Envoy binary; default $ENVOY_BIN. */
  readonly bin?: string;
  /** The rendered config text (YAML). */
  readonly config: string;
  /** Where Envoy's stderr goes; default a file in a temporary directory. */
  readonly logFile?: string;
  readonly logLevel?: string;
  readonly concurrency?: number;
  readonly readyTimeoutMs?: number;
}

export interface RunningEnvoy {
  readonly pid: number;
  readonly adminUrl: string;
  /** Bound port of each listener, by listener name. */
  readonly listenerPorts: Readonly<Record<string, number>>;
  readonly logFile: string;
  /** Resolves when the Envoy process has exited, for whatever reason. */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

export function envoyBinary(bin?: string): string {
  const found = bin ?? process.env.ENVOY_BIN;
  if (found === undefined || found === "") {
    throw new Error(
      "ENVOY_BIN is not set: run through bin/portcullis or bin/test, which install Envoy, or set ENVOY_BIN",
    );
  }
  return found;
}

export async function envoyVersion(bin?: string): Promise<string> {
  const { stdout } = await promisify(execFile)(envoyBinary(bin), ["--version"], { timeout: 10_000 });
  return /version: (\S+)/.exec(stdout)?.[1] ?? stdout.trim();
}

export async function startEnvoy(options: EnvoyOptions): Promise<RunningEnvoy> {
  const bin = envoyBinary(options.bin);
  const dir = await mkdtemp(join(tmpdir(), "portcullis-envoy-"));
  const configFile = join(dir, "envoy.yaml");
  const adminAddressFile = join(dir, "admin-address");
  const logFile = options.logFile ?? join(dir, "envoy.log");
  await writeFile(configFile, options.config, { mode: 0o600 });

  const logFd = openSync(logFile, "a", 0o600);
  const args = [
    "-c",
    configFile,
    "--log-level",
    options.logLevel ?? "warn",
    // No shared memory: several Envoys (tests side by side, a running demo) must not collide.
    "--disable-hot-restart",
    "--concurrency",
    String(options.concurrency ?? 1),
    "--admin-address-path",
    adminAddressFile,
  ];
  const child = spawn(bin, args, { stdio: ["ignore", logFd, logFd] });
  closeSync(logFd);
  running.add(child);
  installExitHook();
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      running.delete(child);
      resolve();
    });
  });
  let exitCode: number | null | undefined;
  child.once("exit", (code, signal) => {
    exitCode = code ?? (signal === null ? null : -1);
  });
  child.once("error", () => {
    exitCode = -1;
  });

  const stop = async () => {
    if (exitCode === undefined && child.exitCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };

  try {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    const adminUrl = await waitForEnvoyReady(adminAddressFile, deadline, () => exitCode);
    const listenerPorts = await readListenerPorts(adminUrl);
    return { pid: child.pid ?? -1, adminUrl, listenerPorts, logFile, exited, stop };
  } catch (error) {
    const log = await readFile(logFile, "utf8").catch(() => "");
    await stop();
    const tail = log.trim().split("\n").slice(-15).join("\n");
    throw new Error(
      `Envoy did not become ready: ${(error as Error).message}${tail ? `\n--- envoy log (${logFile}) ---\n${tail}` : ""}`,
    );
  }
}

/** The admin URL once Envoy wrote its admin address and answers /ready with 200; throws if it exits first. */
async function waitForEnvoyReady(
  adminAddressFile: string,
  deadline: number,
  exitCode: () => number | null | undefined,
): Promise<string> {
  const adminUrl = await waitFor(deadline, exitCode, async () => {
    const text = (await readFile(adminAddressFile, "utf8").catch(() => "")).trim();
    return text === "" ? undefined : `http://${text}`;
  });
  await waitFor(deadline, exitCode, async () => {
    const res = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  });
  return adminUrl;
}

async function readListenerPorts(adminUrl: string): Promise<Record<string, number>> {
  const res = await fetch(`${adminUrl}/listeners?format=json`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as {
    listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[];
  };
  const ports: Record<string, number> = {};
  for (const status of body.listener_statuses ?? []) {
    const port = status.local_address?.socket_address?.port_value;
    if (typeof port === "number") ports[status.name] = port;
  }
  return ports;
}

async function waitFor<T>(
  deadline: number,
  exited: () => number | null | undefined,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  for (;;) {
    const code = exited();
    if (code !== undefined) throw new Error(`Envoy exited (code ${code})`);
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
