// Starts the one Envoy all HTTP scenarios go through (--concurrency 1: one worker, fair on a small
// machine; --disable-hot-restart: no shared-memory clash with other Envoys) and reads the ports
// its listeners actually bound from the admin API.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { fetchText, waitForHttp200 } from "./fetchText.ts";

export interface RunningEnvoy {
  readonly pid: number | undefined;
  readonly adminUrl: string;
  /** listener name → bound port */
  readonly ports: ReadonlyMap<string, number>;
}

interface ListenersJson {
  listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[];
}

export async function startEnvoy(
  group: ChildProcessGroup,
  envoyBin: string,
  workDir: string,
  config: string,
): Promise<RunningEnvoy> {
  const configPath = join(workDir, "envoy.json");
  const adminPath = join(workDir, "envoy-admin-address");
  writeFileSync(configPath, config);
  const envoy = group.spawn(
    "envoy",
    envoyBin,
    [
      "-c",
      configPath,
      "--concurrency",
      "1",
      "--disable-hot-restart",
      "--admin-address-path",
      adminPath,
      "--log-level",
      "warn",
    ],
    { role: "server" },
  );
  const deadline = Date.now() + 20_000;
  let adminAddress = "";
  while (!adminAddress) {
    if (envoy.process.exitCode !== null)
      throw new Error(`envoy exited (code ${envoy.process.exitCode})\n${envoy.tail()}`);
    if (Date.now() > deadline) throw new Error(`envoy did not write its admin address within 20 s\n${envoy.tail()}`);
    try {
      adminAddress = readFileSync(adminPath, "utf8").trim();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const adminUrl = `http://${adminAddress}`;
  await waitForHttp200(`${adminUrl}/ready`, 20_000);
  const { body } = await fetchText(`${adminUrl}/listeners?format=json`);
  const ports = new Map<string, number>();
  for (const status of (JSON.parse(body) as ListenersJson).listener_statuses ?? []) {
    const port = status.local_address?.socket_address?.port_value;
    if (port) ports.set(status.name, port);
  }
  return { pid: envoy.process.pid, adminUrl, ports };
}
