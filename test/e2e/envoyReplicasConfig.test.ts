// envoy/replicas.yaml is accepted by the pinned Envoy (`--mode validate`), as shipped (certificate
// paths pointed at real files) and as the end-to-end tests render it for loopback ports, and Envoy
// knows every retry condition it names (an unknown one is only a warning, silently ignored).
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDemoCertificate, type DemoCertificate } from "../../src/cli/demo/ensureDemoCertificate.ts";
import { envoyBinary } from "../../src/cli/demo/startEnvoy.ts";
import { readReplicasEnvoyConfig, renderReplicasEnvoyConfig } from "../harness/renderReplicasEnvoyConfig.ts";

const run = promisify(execFile);
let dir: string;
let cert: DemoCertificate;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-envoy-replicas-"));
  cert = await ensureDemoCertificate(join(dir, "cert"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(name: string, config: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, config);
  const { stdout, stderr } = await run(envoyBinary(), ["--mode", "validate", "--disable-hot-restart", "-c", file], { timeout: 30_000 });
  return stdout + stderr;
}

describe("envoy/replicas.yaml", () => {
  it("is a valid Envoy config once its certificate paths point at real files, every retry condition known", async () => {
    const text = (await readReplicasEnvoyConfig())
      .replace("/etc/envoy/tls/fullchain.pem", cert.certFile)
      .replace("/etc/envoy/tls/privkey.pem", cert.keyFile);
    expect(text).not.toContain("/etc/envoy/tls/");
    const output = await validate("shipped", text);
    expect(output).toMatch(/OK/);
    expect(output).not.toMatch(/Unknown retry_on policy token/);
  });

  it("stays valid as the end-to-end tests render it for three loopback replicas", async () => {
    const text = renderReplicasEnvoyConfig(await readReplicasEnvoyConfig(), {
      listenPort: 0,
      tlsCertFile: cert.certFile,
      tlsKeyFile: cert.keyFile,
      replicas: [0, 1, 2].map((i) => ({ grpc: 19191 + i, auth: 18181 + i, admin: 19464 + i })),
      upstreamPort: 18080,
    });
    expect(await validate("rendered", text)).toMatch(/OK/);
  });
});
