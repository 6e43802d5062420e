// An OCI distribution registry (the CNCF reference implementation, REGISTRY_BIN, which bin/test
// builds) on a loopback port over plain HTTP, storing in the caller's directory: what `helm push` to
// oci:// meets in a release, without a network or credentials. stop() ends it (SIGTERM).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { reservePort } from "./reservePort.ts";
import { startListeningChild } from "./startListeningChild.ts";

export interface OciRegistry {
  /** `127.0.0.1:<port>`, the host part of an oci:// reference. */
  readonly host: string;
  stop(): Promise<void>;
}

export async function startOciRegistry(dir: string): Promise<OciRegistry> {
  const bin = process.env["REGISTRY_BIN"];
  if (bin === undefined || bin === "") throw new Error("REGISTRY_BIN is not set: run the suite with bin/test");
  await mkdir(join(dir, "storage"), { recursive: true });
  const reserved = await reservePort();
  const config = join(dir, "registry.yaml");
  await writeFile(
    config,
    stringify({
      version: 0.1,
      log: { level: "warn" },
      storage: { filesystem: { rootdirectory: join(dir, "storage") } },
      http: { addr: `127.0.0.1:${reserved.port}` },
    }),
  );
  await reserved.release();
  const child = await startListeningChild({
    name: "registry",
    command: bin,
    args: ["serve", config],
    port: reserved.port,
    stopSignal: "SIGTERM",
    // The registry reads OTEL_* and REGISTRY_* from the environment; neither may leak in from the suite's.
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: dir, OTEL_TRACES_EXPORTER: "none" },
  });
  return { host: `127.0.0.1:${reserved.port}`, stop: () => child.stop() };
}
