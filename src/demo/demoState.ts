// The running demo's state file (.cache/demo/state.json, mode 0600): how `demo token` reaches the
// demo's IdP. It holds the demo client's secret and the local mint secret, so only the owner may
// read it; it is removed when the demo stops.

import { readFile, rm, writeFile } from "node:fs/promises";
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
}

/** .cache/demo in the checkout (or PORTCULLIS_DEMO_DIR), beside the certificate and the logs. */
export function demoDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.PORTCULLIS_DEMO_DIR;
  if (override !== undefined && override !== "") return override;
  return fileURLToPath(new URL("../../.cache/demo", import.meta.url));
}

export function demoStateFile(dir: string): string {
  return join(dir, "state.json");
}

export async function writeDemoState(dir: string, state: DemoState): Promise<void> {
  const file = demoStateFile(dir);
  await rm(file, { force: true });
  await writeFile(file, JSON.stringify(state, null, 2) + "\n", { mode: 0o600, flag: "wx" });
}

export async function readDemoState(dir: string): Promise<DemoState | undefined> {
  try {
    return JSON.parse(await readFile(demoStateFile(dir), "utf8")) as DemoState;
  } catch {
    return undefined;
  }
}

export async function removeDemoState(dir: string, pid: number): Promise<void> {
  // Only our own: a second demo that failed to start must not delete the running one's state.
  const state = await readDemoState(dir);
  if (state?.pid === pid) await rm(demoStateFile(dir), { force: true });
}
