// Where a running demo keeps its files and how `demo token` finds it. The demo directory
// (.cache/demo, or PORTCULLIS_DEMO_DIR) holds the TLS certificate every demo shares and one
// directory per demo named after its HTTPS port: its logs and its state file (state.json, mode 0600).
// The state file holds the demo clients' secrets and the local mint secret, so only the owner may
// read it; it is removed when the demo stops.

import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export interface DemoState {
  readonly pid: number;
  readonly entryUrl: string;
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly resource: string;
  readonly audience: string;
  readonly clients: Readonly<Record<string, { readonly id: string; readonly secret: string }>>;
  readonly mintUrl: string;
  readonly mintSecret: string;
  /** The mTLS entry and its files; absent for an IdP run without the demo around it. */
  readonly mtls?: DemoMtlsEntry;
}

/** The demo's mTLS entry and the files a client uses there (curl --cacert, --cert, --key). */
export interface DemoMtlsEntry {
  readonly entryUrl: string;
  /** The localhost certificate both entries present (self-signed): what a client trusts. */
  readonly serverCertFile: string;
  /** The demo machine's certificate (`demo token --bound-to-cert` binds to it) and key, PEM. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The demo's client CA, the only issuer the mTLS entry accepts. */
  readonly clientCaFile: string;
}

/** .cache/demo in the checkout (or PORTCULLIS_DEMO_DIR): the certificate and one directory per demo. */
export function demoDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.PORTCULLIS_DEMO_DIR;
  if (override !== undefined && override !== "") return override;
  return fileURLToPath(new URL("../../.cache/demo", import.meta.url));
}

/** The directory of the demo serving HTTPS on `httpsPort`: its state file and logs. */
export function demoRunDir(dir: string, httpsPort: number): string {
  return join(dir, String(httpsPort));
}

/** The HTTPS port of the demo a state describes (its entry URL's). */
export function demoHttpsPort(state: DemoState): number {
  const url = new URL(state.entryUrl);
  return Number(url.port === "" ? 443 : url.port);
}

/** Writes the state into the directory of the demo it describes, readable by the owner only. */
export async function writeDemoState(dir: string, state: DemoState): Promise<void> {
  const runDir = demoRunDir(dir, demoHttpsPort(state));
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  const file = join(runDir, "state.json");
  await rm(file, { force: true });
  await writeFile(file, JSON.stringify(state, null, 2) + "\n", { mode: 0o600, flag: "wx" });
}

export async function readDemoState(dir: string, httpsPort: number): Promise<DemoState | undefined> {
  try {
    return JSON.parse(await readFile(join(demoRunDir(dir, httpsPort), "state.json"), "utf8")) as DemoState;
  } catch {
    return undefined;
  }
}

/** The demos whose process still runs, by HTTPS port (a demo killed without cleaning up is skipped). */
export async function findRunningDemos(dir: string): Promise<DemoState[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const ports = entries.filter((e) => e.isDirectory() && /^\d{1,5}$/.test(e.name)).map((e) => Number(e.name));
  const states = await Promise.all(ports.sort((a, b) => a - b).map((port) => readDemoState(dir, port)));
  return states.filter((state): state is DemoState => state !== undefined && isAlive(state.pid));
}

export async function removeDemoState(dir: string, httpsPort: number, pid: number): Promise<void> {
  // Only our own: a second demo that failed to start must not delete the running one's state.
  const state = await readDemoState(dir, httpsPort);
  if (state?.pid === pid) await rm(join(demoRunDir(dir, httpsPort), "state.json"), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
