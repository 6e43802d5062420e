// The container image without a Docker engine: replays deploy/Dockerfile on this machine — the
// build stage's COPY and RUN lines as written (npm ci, npm run prepack, npm prune --omit=dev, from
// npm's cache when it has the packages), the runtime stage's COPY lines into a stand-in root
// filesystem — then starts exactly its ENTRYPOINT + CMD there, with the image's ENV and WORKDIR,
// container paths mapped into the stand-in root. The runtime stage's RUN lines (user creation only,
// see test/unit/deployDockerfile.test.ts) and USER cannot be replayed here.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { startDevIdp } from "../../src/demo/startDevIdp.ts";
import type { DevIdp } from "../../src/demo/startDevIdp.ts";
import { PROTO_LOADER_OPTIONS } from "../../src/transport/loadProtos.ts";
import { killOnExit } from "../harness/startPortcullisProcess.ts";
import { reservePort } from "../harness/reservePort.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import {
  dockerignore,
  execForm,
  last,
  parseCopy,
  parseDockerfile,
  parseEnv,
  parseHealthcheck,
} from "../unit/deployDockerfile.ts";
import type { Stage } from "../unit/deployDockerfile.ts";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const AUDIENCE = "deploy-image-api";
// npm ci of the full tree, tsc and the prune take ~12 s on an idle 2-core machine.
const BUILD_TIMEOUT_MS = 240_000;

interface Replayed {
  readonly workdir: string;
  readonly env: Record<string, string>;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly healthcheck: readonly string[];
}

/** Where a container path lands in a stand-in root filesystem. */
const inRoot = (root: string, containerPath: string) => join(root, posix.resolve("/", containerPath));

async function copyInto(
  sourcePath: string,
  destination: string,
  asFileInto: boolean,
  filter?: (src: string) => boolean,
): Promise<void> {
  const isDir = (await stat(sourcePath)).isDirectory();
  // Docker copies a directory's contents into the destination; a file into it when it ends with "/".
  const target = isDir || !asFileInto ? destination : join(destination, posix.basename(sourcePath));
  await mkdir(isDir ? target : dirname(target), { recursive: true });
  await cp(sourcePath, target, {
    recursive: true,
    verbatimSymlinks: true,
    ...(filter === undefined ? {} : { filter }),
  });
}

/** Replays one stage into `root`. RUN lines run with sh in the stage's WORKDIR when `runCommands`. */
async function replayStage(
  stage: Stage,
  root: string,
  stageRoots: Record<string, string>,
  runCommands: boolean,
): Promise<Replayed> {
  const ignored = dockerignore(await readFile(join(REPO, ".dockerignore"), "utf8"));
  const fromContext = (src: string) => {
    const rel = relative(REPO, src).split("\\").join("/");
    return rel === "" || !ignored(rel);
  };
  let workdir = "/";
  const env: Record<string, string> = {};
  for (const { keyword, args, line } of stage.instructions) {
    switch (keyword) {
      case "WORKDIR":
        workdir = posix.resolve(workdir, args);
        await mkdir(inRoot(root, workdir), { recursive: true });
        break;
      case "ENV":
        Object.assign(env, parseEnv(args));
        break;
      case "COPY": {
        const copy = parseCopy(args);
        const dest = inRoot(root, posix.resolve(workdir, copy.dest));
        const asFileInto = copy.dest.endsWith("/") || copy.sources.length > 1;
        for (const source of copy.sources) {
          if (copy.from === null) {
            if (ignored(source)) throw new Error(`line ${line}: ${source} is excluded by .dockerignore`);
            await copyInto(join(REPO, source), dest, asFileInto, fromContext);
          } else {
            const fromRoot = stageRoots[copy.from];
            if (fromRoot === undefined) throw new Error(`line ${line}: unknown stage ${copy.from}`);
            await copyInto(inRoot(fromRoot, source), dest, asFileInto);
          }
        }
        break;
      }
      case "RUN":
        if (runCommands) {
          await run("sh", ["-c", args], {
            cwd: inRoot(root, workdir),
            timeout: BUILD_TIMEOUT_MS,
            maxBuffer: 16 * 1024 * 1024,
            // The node:24 image's node and npm: here the Node 24 running the tests and the machine's npm.
            env: {
              ...process.env,
              ...env,
              PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}`,
              npm_config_prefer_offline: "true",
              npm_config_loglevel: "error",
            },
          });
        }
        break;
      case "ARG":
      case "LABEL":
      case "USER":
      case "EXPOSE":
      case "HEALTHCHECK":
      case "ENTRYPOINT":
      case "CMD":
        break;
      default:
        throw new Error(`line ${line}: the replay does not know ${keyword}; teach it before using it`);
    }
  }
  const exec = (keyword: string) => {
    const found = last(stage, keyword);
    const form = found === undefined ? [] : execForm(found.args);
    if (form === null) throw new Error(`${keyword} must be in exec form`);
    return form;
  };
  const health = last(stage, "HEALTHCHECK");
  return {
    workdir,
    env,
    entrypoint: exec("ENTRYPOINT"),
    cmd: exec("CMD"),
    healthcheck: health === undefined ? [] : parseHealthcheck(health.args).command,
  };
}

/** argv and env as the container would see them, with container paths mapped into the stand-in root. */
function containerProcess(root: string, image: Replayed, argv: readonly string[]) {
  const mapped = argv.map((arg, i) =>
    i === 0 && arg === "node" ? process.execPath : arg.startsWith("/") ? inRoot(root, arg) : arg,
  );
  const env: Record<string, string> = { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin` };
  for (const [key, value] of Object.entries(image.env)) env[key] = value.startsWith("/") ? inRoot(root, value) : value;
  return { command: mapped[0] as string, args: mapped.slice(1), cwd: inRoot(root, image.workdir), env };
}

/** Every file under `dir` (except the container's /tmp) with its size and mtime: what a read-only root would refuse to change. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = relative(root, path);
    if (rel === "tmp" || rel.startsWith("tmp/")) continue;
    const info = await stat(path).catch(() => null);
    files.set(rel, info === null ? "dangling" : `${info.isDirectory() ? "dir" : info.size}:${info.mtimeMs}`);
  }
  return files;
}

function checkClient(protoDir: string, port: number) {
  const def = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [protoDir],
    enums: String,
  });
  const Authorization = (grpc.loadPackageDefinition(def) as any).envoy.service.auth.v3
    .Authorization as grpc.ServiceClientConstructor;
  const client = new Authorization(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
  return {
    check: (headers: Record<string, string>) =>
      new Promise<any>((resolve, reject) =>
        client.Check(
          {
            attributes: {
              request: {
                http: {
                  id: "deploy-1",
                  method: "GET",
                  host: "localhost",
                  path: "/api/items",
                  scheme: "https",
                  headers,
                },
              },
            },
          },
          { deadline: Date.now() + 10_000 },
          (e: unknown, r: unknown) => (e ? reject(e) : resolve(r)),
        ),
      ),
    close: () => client.close(),
  };
}

describe("the image's entrypoint, replayed from deploy/Dockerfile", () => {
  let dir: string;
  let rootfs: string;
  let image: Replayed;
  let idp: DevIdp;
  let child: ChildProcess;
  let output = "";
  let exited: Promise<number | null>;
  let ports: { grpc: number; auth: number; admin: number };
  let before: Map<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-deploy-image-"));
    const stages = parseDockerfile(await readFile(join(REPO, "deploy/Dockerfile"), "utf8"));
    const roots: Record<string, string> = {};
    for (const [i, stage] of stages.entries()) {
      const root = join(dir, `stage-${i}`);
      await mkdir(root, { recursive: true });
      const isRuntime = i === stages.length - 1;
      const replayed = await replayStage(stage, root, roots, !isRuntime);
      if (stage.name !== null) roots[stage.name] = root;
      if (isRuntime) {
        rootfs = root;
        image = replayed;
      }
    }
    await mkdir(join(rootfs, "tmp"), { recursive: true });

    idp = await startDevIdp({ signingKeys: [await createSigningJwk()], audience: AUDIENCE });
    const configFile = inRoot(rootfs, image.cmd.at(image.cmd.indexOf("--config") + 1) ?? "/missing");
    await mkdir(dirname(configFile), { recursive: true });
    await writeFile(
      configFile,
      stringify({
        // Port 0: the suite runs beside a demo and other workers; the HEALTHCHECK test maps 9464.
        listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
        providers: {
          idp: {
            issuer: idp.issuer,
            audiences: [AUDIENCE],
            allowInsecureHttp: true,
            discoveryTimeoutMs: 10_000,
            jwksTimeoutMs: 5000,
          },
        },
        routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
        shutdown: { graceSeconds: 2 },
      }),
    );
    before = await snapshot(rootfs);

    const proc = containerProcess(rootfs, image, [...image.entrypoint, ...image.cmd]);
    child = spawn(proc.command, proc.args, { cwd: proc.cwd, env: proc.env, stdio: ["ignore", "pipe", "pipe"] });
    killOnExit(child);
    exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const ready = await waitUntil(async () => output.includes('"portcullis ready"'), 30_000);
    if (!ready) throw new Error(`the entrypoint did not log "portcullis ready":\n${output}`);
    const line = output.split("\n").find((l) => l.includes('"portcullis ready"')) as string;
    const entry = JSON.parse(line) as { grpcPort: number; authPort: number; adminPort: number };
    ports = { grpc: entry.grpcPort, auth: entry.authPort, admin: entry.adminPort };
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    await idp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("ships the built output and production dependencies only: no sources, no lockfile, no dev packages, no demo IdP, no bin/", async () => {
    const app = inRoot(rootfs, image.workdir);
    expect((await readdir(app)).sort()).toEqual(["dist", "envoy", "node_modules", "package.json", "proto"]);
    expect((await stat(join(app, "dist/cli/main.js"))).isFile()).toBe(true);
    const modules = await readdir(join(app, "node_modules"));
    for (const runtime of ["@grpc", "jose", "openid-client", "pino", "prom-client", "yaml"])
      expect(modules).toContain(runtime);
    // The demo's IdP is not a dependency of `serve`.
    expect(modules).not.toContain("oidc-provider");
    // Every package the lockfile marks dev-only is gone (npm prune --omit=dev ran).
    const lock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(
      ([path, p]) => p.dev === true && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path),
    );
    expect(devOnly.map(([path]) => path)).toContain("node_modules/typescript");
    const present = await Promise.all(
      devOnly.map(([path]) =>
        stat(join(app, path)).then(
          () => path,
          () => null,
        ),
      ),
    );
    expect(present.filter((p) => p !== null)).toEqual([]);
  });

  it("answers /healthz, and /readyz once the provider's keys are loaded", async () => {
    const healthz = await fetch(`http://127.0.0.1:${ports.admin}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(healthz.status).toBe(200);
    const ready = await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${ports.admin}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, 20_000);
    expect(ready).toBe(true);
  });

  it("decides a Check over gRPC with the protos it ships: allow with a valid token, 401 without one", async () => {
    const client = checkClient(inRoot(rootfs, posix.join(image.workdir, "proto")), ports.grpc);
    try {
      const token = await idp.clientCredentialsToken(["api.read"]);
      const allowed = await client.check({ authorization: `Bearer ${token}` });
      expect(allowed.status.code).toBe(0);
      expect(allowed.ok_response).toBeDefined();
      const denied = await client.check({});
      expect(denied.status.code).not.toBe(0);
      expect(denied.denied_response.status.code).toBe("Unauthorized");
    } finally {
      client.close();
    }
  });

  it("passes its HEALTHCHECK command while it runs, and fails it when nothing answers", async () => {
    const healthcheck = (port: number) => {
      const proc = containerProcess(
        rootfs,
        image,
        image.healthcheck.map((a) => a.replace("127.0.0.1:9464", `127.0.0.1:${port}`)),
      );
      return run(proc.command, proc.args, { cwd: proc.cwd, env: proc.env, timeout: 10_000 }).then(
        () => 0,
        (e: { code?: number }) => e.code ?? -1,
      );
    };
    expect(image.healthcheck.join(" ")).toContain("127.0.0.1:9464");
    expect(await healthcheck(ports.admin)).toBe(0);
    const down = await reservePort(); // resets every connection, like a process that is gone
    try {
      expect(await healthcheck(down.port)).toBe(1);
    } finally {
      await down.release();
    }
  });

  it("prints the packaged version through the entrypoint", async () => {
    const version = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string }).version;
    // The build stage has no .git: the commit is the one PORTCULLIS_COMMIT names, else unknown.
    const versionLine = new RegExp(
      `^portcullis ${version.replaceAll(".", "\\.")} \\(commit ([0-9a-f]{7,12}|unknown)\\) node v24\\.\\S+\n$`,
    );
    const viaEntrypoint = containerProcess(rootfs, image, [...image.entrypoint, "--version"]);
    expect(
      (await run(viaEntrypoint.command, viaEntrypoint.args, { cwd: viaEntrypoint.cwd, env: viaEntrypoint.env })).stdout,
    ).toMatch(versionLine);
  });

  it("stops on SIGTERM with exit code 0 and has written nothing outside /tmp (read-only root filesystem)", async () => {
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const after = await snapshot(rootfs);
    const changed = [...after].filter(([path, sig]) => before.get(path) !== sig).map(([path]) => path);
    expect(changed).toEqual([]);
    expect(output).toContain('"stopped"');
  });
});
