// The container image as built and run without a Docker engine: bin/build-image (buildah, pinned
// inputs) makes it, podman runs it read-only as uid 10001 with the config mounted read-only, and a
// real Envoy on the host asks it over ext_authz: a bearer token from the dev IdP is let through with
// identity headers, a forged one is denied, and the image's own HEALTHCHECK command passes.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import { createSigningJwk, startDevIdp } from "../../src/demo/startDevIdp.ts";
import type { DevIdp } from "../../src/demo/startDevIdp.ts";
import { startEchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import type { EchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import { ensureDemoCertificate, renderEnvoyConfig, startEnvoy } from "../../src/demo/startEnvoy.ts";
import type { DemoCertificate, RunningEnvoy } from "../../src/demo/startEnvoy.ts";
import {
  buildContainerImage,
  HARDENED_RUN_OPTIONS,
  IMAGE_BUILD_TIMEOUT_MS,
  podman,
} from "../harness/buildContainerImage.ts";
import type { BuiltImage } from "../harness/buildContainerImage.ts";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { killOnExit } from "../harness/startPortcullisProcess.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { execForm, last, parseDockerfile, parseEnv, parseHealthcheck } from "../unit/deployDockerfile.ts";
import type { Stage } from "../unit/deployDockerfile.ts";

const AUDIENCE = "container-image-api";
const REPO = new URL("../../", import.meta.url);
const READYZ_STATUS =
  "fetch('http://127.0.0.1:9464/readyz',{signal:AbortSignal.timeout(2000)}).then(r=>console.log(r.status))";

interface ImageConfig {
  readonly Entrypoint: string[];
  readonly Cmd: string[];
  readonly Env: string[];
  readonly User: string;
  readonly WorkingDir: string;
  readonly ExposedPorts: Record<string, unknown>;
  readonly Healthcheck?: { readonly Test: string[] };
}

describe("the container image, built with buildah and run with podman", () => {
  let image: BuiltImage;
  let dir: string;
  let idp: DevIdp;
  let upstream: EchoUpstream;
  let cert: DemoCertificate;
  let envoy: RunningEnvoy;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let output = "";
  let adminPort: number;
  const name = `portcullis-e2e-${process.pid}-${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    image = await buildContainerImage();
    dir = await mkdtemp(join(tmpdir(), "portcullis-container-"));
    idp = await startDevIdp({ signingKeys: [await createSigningJwk()], audience: AUDIENCE });
    upstream = await startEchoUpstream();
    cert = await ensureDemoCertificate(join(dir, "cert"));
    const configFile = join(dir, "config.yaml");
    await writeFile(
      configFile,
      stringify({
        // Host network and port 0: the suite runs beside a demo and other workers.
        listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
        providers: {
          idp: { issuer: idp.issuer, audiences: [AUDIENCE], allowInsecureHttp: true, discoveryTimeoutMs: 10_000 },
        },
        routes: [{ name: "api", match: { host: "localhost", path: "/api" }, auth: "required" }],
        shutdown: { graceSeconds: 2, drainSeconds: 0 },
      }),
      { mode: 0o644 },
    );
    child = spawn(
      image.podman,
      [
        ...image.podmanFlags,
        "run",
        "--rm",
        `--name=${name}`,
        ...HARDENED_RUN_OPTIONS,
        `--volume=${configFile}:/etc/portcullis/config.yaml:ro`,
        image.image,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    killOnExit(child);
    exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const ready = await waitUntil(async () => output.includes('"portcullis ready"') || child.exitCode !== null, 60_000);
    if (!ready || child.exitCode !== null) throw new Error(`the container did not log "portcullis ready":\n${output}`);
    const line = output.split("\n").find((l) => l.includes('"portcullis ready"')) as string;
    const ports = JSON.parse(line) as { grpcPort: number; authPort: number; adminPort: number };
    adminPort = ports.adminPort;
    const readyz = await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, 30_000);
    if (!readyz) throw new Error(`the container's /readyz did not answer 200:\n${output}`);

    const loaded = loadCheckedConfig(configFile, { ...process.env, NODE_ENV: "test" });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    envoy = await startEnvoy({
      config: await renderEnvoyConfig({
        adminPort: 0,
        listenAddress: "127.0.0.1",
        listenPort: 0,
        tlsCertFile: cert.certFile,
        tlsKeyFile: cert.keyFile,
        extAuthzPort: ports.grpcPort,
        authPort: ports.authPort,
        upstreamPort: upstream.port,
        extAuthzTimeoutMs: 6000,
        allowedHeaders: envoyAllowedHeaders(loaded.config).map((h) => h.name),
      }),
      logFile: join(dir, "envoy.log"),
    });
  }, IMAGE_BUILD_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await envoy?.stop();
    if (image !== undefined) await podman(image, ["rm", "--force", "--time=0", name]);
    if (child !== undefined && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    await upstream?.close();
    await idp?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const request = (headers: Record<string, string>) =>
    httpsRequest({ port: envoy.listenerPorts.https as number, path: "/api/items", ca: cert.certPem, headers });

  it("lets a bearer token from the IdP through Envoy with its identity header, and denies a forged one", async () => {
    const token = await idp.clientCredentialsToken(["api.read"]);
    const allowed = await request({ authorization: `Bearer ${token}` });
    expect(allowed.status).toBe(200);
    const echoed = upstream.requests().at(-1);
    // A client-credentials token names a client, not a user.
    expect(echoed?.headers["x-client-id"]).toBe(idp.cliClient.id);
    expect(echoed?.headers["authorization"]).toBeUndefined();

    const [header, payload] = token.split(".");
    const denied = await request({ authorization: `Bearer ${header}.${payload}.${"A".repeat(86)}` });
    expect(denied.status).toBe(401);
    expect(String(denied.headers["www-authenticate"])).toContain('error="invalid_token"');
    expect((await request({})).status).toBe(401);
  });

  it("passes its own HEALTHCHECK command inside the running container", async () => {
    const config = await imageConfig(image);
    const command = config.Healthcheck?.Test ?? [];
    expect(command[0]).toBe("CMD");
    expect(command.join(" ")).toContain("http://127.0.0.1:9464/healthz");
    // The admin listener is on a free port (host network, shared machine): the command as shipped, that port put in.
    const exec = await podman(image, [
      "exec",
      name,
      ...command.slice(1).map((a) => a.replace("127.0.0.1:9464", `127.0.0.1:${adminPort}`)),
    ]);
    expect(exec).toMatchObject({ code: 0 });
    const nothing = await podman(image, ["exec", name, ...command.slice(1)]);
    expect(nothing.code).toBe(1);
  });

  it("stops on SIGTERM with exit code 0", async () => {
    const stopped = await podman(image, ["stop", "--time=20", name], 30_000);
    expect(stopped.code).toBe(0);
    expect(await exited).toBe(0);
    expect(output).toContain('"stopped"');
  });
});

describe("the image's contents and configuration", () => {
  let image: BuiltImage;
  beforeAll(async () => {
    image = await buildContainerImage();
  }, IMAGE_BUILD_TIMEOUT_MS + 10_000);

  it("has deploy/Dockerfile's runtime entrypoint, command, user, workdir, environment and ports", async () => {
    const runtime = parseDockerfile(await readFile(new URL("deploy/Dockerfile", REPO), "utf8")).at(-1) as Stage;
    const config = await imageConfig(image);
    expect(config.Entrypoint).toEqual(execForm(last(runtime, "ENTRYPOINT")?.args ?? ""));
    expect(config.Cmd).toEqual(execForm(last(runtime, "CMD")?.args ?? ""));
    expect(config.User).toBe(last(runtime, "USER")?.args);
    expect(config.WorkingDir).toBe(last(runtime, "WORKDIR")?.args);
    const env = Object.fromEntries(config.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    for (const e of runtime.instructions.filter((i) => i.keyword === "ENV"))
      for (const [key, value] of Object.entries(parseEnv(e.args))) expect(env[key], key).toBe(value);
    const exposed = last(runtime, "EXPOSE")?.args.split(/\s+/) ?? [];
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(exposed.map((p) => `${p}/tcp`).sort());
    const health = parseHealthcheck(last(runtime, "HEALTHCHECK")?.args ?? "");
    expect(config.Healthcheck?.Test).toEqual(["CMD", ...health.command]);
  });

  it("holds node, the app and its production dependencies, and no npm, corepack, shell, provisioning script or demo IdP", async () => {
    const probe = `const fs = require("node:fs");
      const paths = ["/app/dist/cli/main.js", "/app/node_modules/jose", "/app/node_modules/@grpc/grpc-js",
        "/app/node_modules/oidc-provider", "/app/bin/provision.sh", "/app/bin/portcullis", "/app/package-lock.json",
        "/usr/local/lib/node_modules/npm", "/usr/local/lib/node_modules/corepack", "/usr/local/bin/npm",
        "/usr/local/bin/corepack", "/bin/sh", "/usr/bin/apt-get", "/etc/ssl/certs/ca-certificates.crt"];
      console.log(JSON.stringify({ uid: process.getuid(), present: paths.filter((p) => fs.existsSync(p)) }));`;
    const result = await podman(image, [
      "run",
      "--rm",
      ...HARDENED_RUN_OPTIONS,
      "--entrypoint=node",
      image.image,
      "-e",
      probe,
    ]);
    expect(result).toMatchObject({ code: 0 });
    expect(JSON.parse(result.stdout)).toEqual({
      uid: 10001,
      present: [
        "/app/dist/cli/main.js",
        "/app/node_modules/jose",
        "/app/node_modules/@grpc/grpc-js",
        "/etc/ssl/certs/ca-certificates.crt",
      ],
    });
  });

  it("prints the packaged version, the commit it was packed from and its Node through its entrypoint", async () => {
    const version = (JSON.parse(await readFile(new URL("package.json", REPO), "utf8")) as { version: string }).version;
    const result = await podman(image, ["run", "--rm", ...HARDENED_RUN_OPTIONS, image.image, "--version"]);
    expect(result.code).toBe(0);
    // npm pack stamps the checkout's commit (bin/build-image packs this checkout).
    expect(result.stdout).toMatch(
      new RegExp(`^portcullis ${version.replaceAll(".", "\\.")} \\(commit [0-9a-f]{7,12}\\) node v24\\.\\S+\n$`),
    );
  });

  it("is healthy by its own HEALTHCHECK, as shipped, through `podman healthcheck run` (own network, default admin port)", async () => {
    // A network of its own: the admin listener takes its default 127.0.0.1:9464 without meeting the
    // rest of the suite. /healthz says alive, which needs no provider, so the issuer may be unreachable.
    const dir = await mkdtemp(join(tmpdir(), "portcullis-container-health-"));
    const configFile = join(dir, "config.yaml");
    await writeFile(
      configFile,
      stringify({
        providers: { idp: { issuer: "http://127.0.0.1:9", audiences: [AUDIENCE], allowInsecureHttp: true } },
        routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
      }),
      { mode: 0o644 },
    );
    const name = `portcullis-e2e-health-${process.pid}-${randomBytes(3).toString("hex")}`;
    const options = HARDENED_RUN_OPTIONS.filter((o) => o !== "--network=host" && o !== "--no-healthcheck");
    try {
      const started = await podman(image, [
        "run",
        "--detach",
        `--name=${name}`,
        "--network=none",
        // No systemd here to time it: the test runs it.
        "--health-interval=disable",
        ...options,
        `--volume=${configFile}:/etc/portcullis/config.yaml:ro`,
        image.image,
      ]);
      expect(started).toMatchObject({ code: 0 });
      const healthy = await waitUntil(
        async () => (await podman(image, ["healthcheck", "run", name])).code === 0,
        30_000,
      );
      expect(healthy).toBe(true);
      const state = await podman(image, ["inspect", "--format={{.State.Health.Status}}", name]);
      expect(state.stdout.trim()).toBe("healthy");
      // Alive is not ready: the provider's keys never loaded.
      const ready = await podman(image, ["exec", name, "node", "-e", READYZ_STATUS]);
      expect(ready.stdout.trim()).toBe("503");
    } finally {
      await podman(image, ["rm", "--force", "--time=0", name]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stays within its size budget: under 80 MB compressed, 200 MB unpacked", () => {
    expect(image.compressedBytes).toBeGreaterThan(20e6);
    expect(image.compressedBytes).toBeLessThan(80e6);
    expect(image.unpackedBytes).toBeLessThan(200e6);
  });
});

async function imageConfig(image: BuiltImage): Promise<ImageConfig> {
  const inspected = await podman(image, ["image", "inspect", image.image]);
  if (inspected.code !== 0) throw new Error(`podman image inspect failed: ${inspected.stderr}`);
  // podman reports the (Docker-format) HEALTHCHECK beside the config, not in it.
  const [found] = JSON.parse(inspected.stdout) as { Config: ImageConfig; Healthcheck?: ImageConfig["Healthcheck"] }[];
  if (found === undefined) throw new Error(`podman image inspect found no ${image.image}`);
  return { ...found.Config, ...(found.Healthcheck === undefined ? {} : { Healthcheck: found.Healthcheck }) };
}
