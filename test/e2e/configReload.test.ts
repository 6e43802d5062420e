// Config reload as an operator does it, through the real Envoy and the real `serve` process: a
// SIGHUP under steady load swaps the rules without one failed request, an invalid file or a moved
// listener changes nothing (a warn line names the key path), and `serve --watch` picks up a file
// change without a signal. Every count and wait is bounded; everything listens on loopback.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { PROTO_LOADER_OPTIONS } from "../../src/transport/loadProtos.ts";
import { readMetric } from "../harness/readMetric.ts";
import { killOnExit, REPO_ROOT } from "../harness/startPortcullisProcess.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { startSteadyLoad, type LoadReport } from "../harness/startSteadyLoad.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const MAIN = join(REPO_ROOT, "src/cli/main.ts");
const CONCURRENCY = 50;
const LOAD_MS = 3000;

describe("reloading the config of a running Portcullis behind Envoy", () => {
  let stack: Stack;
  let configFile: string;
  let logFile: string;
  let token: string;

  beforeAll(async () => {
    stack = await startStack();
    configFile = join(stack.dir, "portcullis.yaml");
    logFile = join(stack.dir, "portcullis.log");
    token = await stack.clientCredentialsToken();
  });

  afterAll(async () => {
    await stack?.close();
  });

  const reloads = (result: string) => stack.metric("portcullis_config_reloads_total", { result });

  async function rewriteConfig(change: (config: Record<string, any>) => void): Promise<void> {
    const config = parse(await readFile(configFile, "utf8")) as Record<string, any>;
    change(config);
    await writeFile(configFile, stringify(config), { mode: 0o600 });
  }

  async function logLines(): Promise<Array<Record<string, unknown>>> {
    return (await readFile(logFile, "utf8"))
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** The log lines that match, once at least one has reached the log file (it is written through a pipe). */
  async function loggedLines(
    match: (line: Record<string, unknown>) => boolean,
  ): Promise<Array<Record<string, unknown>>> {
    await waitUntil(async () => (await logLines()).some(match), 5000, 50);
    return (await logLines()).filter(match);
  }

  it("swaps in a new route on SIGHUP under steady load with zero failed requests", async () => {
    expect((await stack.request("/docs/intro")).status).toBe(403);

    // Keep-alive connections, as Envoy's clients would hold them; every answer must be the upstream's 200.
    const load = startSteadyLoad({
      port: stack.envoyPort,
      ca: stack.ca,
      workers: CONCURRENCY,
      pauseMs: 0,
      kinds: [
        {
          name: "bearer",
          path: "/api/orders",
          headers: () => ({ authorization: `Bearer ${token}` }),
          accepts: (status) => status === 200,
        },
      ],
    });
    const started = Date.now();
    let report!: LoadReport;
    try {
      expect(await waitUntil(async () => load.answered() >= 100, 20_000, 20)).toBe(true);
      await rewriteConfig((config) => {
        config["routes"].push({ name: "docs", match: { host: "localhost", path: "/docs" }, auth: "public" });
      });
      process.kill(stack.pids.portcullis, "SIGHUP");
      expect(await waitUntil(async () => (await reloads("ok")) === 1, 10_000, 50)).toBe(true);
      const atReload = load.answered();
      expect(
        await waitUntil(async () => load.answered() >= atReload + 100 && Date.now() - started >= LOAD_MS, 20_000, 20),
      ).toBe(true);
    } finally {
      report = await load.stop();
    }

    expect(report.failures).toEqual([]);
    expect(report.total).toBeGreaterThanOrEqual(200);
    const docs = await stack.request("/docs/intro");
    expect(docs.status).toBe(200);
    expect((docs.json as { path?: string }).path).toBe("/docs/intro");
    expect(await reloads("invalid")).toBe(0);
    const [summary] = await loggedLines((l) => l["msg"] === "config reloaded");
    expect(summary).toMatchObject({ trigger: "SIGHUP", routes: 3, providersKept: ["demo"], providersLoaded: [] });
  }, 60_000);

  it("keeps the running config when the file is invalid, logging the problem's key path at warn", async () => {
    const okBefore = await reloads("ok");
    await rewriteConfig((config) => {
      config["routes"] = [{ name: "api", match: { host: "localhost", path: "api" }, auth: "public" }];
    });
    process.kill(stack.pids.portcullis, "SIGHUP");
    expect(await waitUntil(async () => (await reloads("invalid")) === 1, 10_000, 50)).toBe(true);

    expect(await reloads("ok")).toBe(okBefore);
    expect((await stack.request("/api/orders")).status).toBe(401);
    expect((await stack.request("/api/orders", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await stack.request("/docs/intro")).status).toBe(200);
    const warned = await loggedLines((l) => l["level"] === "warn" && l["key"] === "routes[0].match.path");
    expect(warned).toHaveLength(1);
    expect(String(warned[0]?.["msg"])).toContain('must start with "/"');
  });

  it("refuses a reload that moves a listener, naming listen.grpc, and keeps serving", async () => {
    await rewriteConfig((config) => {
      config["listen"]["grpc"] = "127.0.0.1:1";
      config["routes"] = [{ name: "everything", match: { path: "/" }, auth: "public" }];
    });
    process.kill(stack.pids.portcullis, "SIGHUP");
    expect(await waitUntil(async () => (await reloads("invalid")) === 2, 10_000, 50)).toBe(true);

    expect((await stack.request("/api/orders")).status).toBe(401);
    const warned = await loggedLines((l) => l["level"] === "warn" && l["key"] === "listen.grpc");
    expect(warned).toHaveLength(1);
    expect(String(warned[0]?.["msg"])).toContain("restart");
  });
});

describe("serve --watch", () => {
  let dir: string;
  let stopChild: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-watch-"));
  });

  afterAll(async () => {
    await stopChild?.();
    if (process.env.PORTCULLIS_KEEP_E2E_LOGS === undefined && dir !== undefined)
      await rm(dir, { recursive: true, force: true });
  });

  const config = (routes: unknown[]) =>
    stringify({
      listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
      routes,
      shutdown: { graceSeconds: 2 },
    });

  /** `serve --config FILE --watch` as a child; resolves with its ports from the ready line. */
  async function serveWatching(file: string, logFile: string) {
    const child = spawn(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", MAIN, "serve", "--config", file, "--watch"],
      {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    killOnExit(child);
    const log = createWriteStream(logFile, { flags: "a" });
    child.stderr.pipe(log, { end: false });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    stopChild = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    };
    return new Promise<{ grpc: number; admin: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no ready line within 30 s")), 30_000);
      let buffered = "";
      child.stdout.on("data", (chunk: Buffer) => {
        log.write(chunk);
        buffered += chunk.toString("utf8");
        for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.includes('"portcullis ready"')) continue;
          clearTimeout(timer);
          const entry = JSON.parse(line) as { grpcPort: number; adminPort: number; watch: boolean };
          if (!entry.watch) reject(new Error("ready line says the file is not watched"));
          resolve({ grpc: entry.grpcPort, admin: entry.adminPort });
        }
      });
      void exited.then(() => reject(new Error("serve exited before it was ready")));
    });
  }

  function check(port: number, path: string): Promise<string> {
    const def = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", {
      ...PROTO_LOADER_OPTIONS,
      enums: String,
    });
    const Authorization = (grpc.loadPackageDefinition(def) as any).envoy.service.auth.v3
      .Authorization as grpc.ServiceClientConstructor;
    const client = new Authorization(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
    return new Promise((resolve, reject) =>
      client.Check(
        {
          attributes: {
            request: { http: { id: "watch", method: "GET", host: "localhost", path, scheme: "https", headers: {} } },
          },
        },
        (error: unknown, response: { http_response: string }) => {
          client.close();
          if (error) reject(error);
          else resolve(response.http_response);
        },
      ),
    );
  }

  it("applies a file replaced by an editor without a signal", async () => {
    const file = join(dir, "config.yaml");
    await writeFile(file, config([{ name: "a", match: { path: "/a" }, auth: "public" }]));
    const ports = await serveWatching(file, join(dir, "portcullis.log"));
    expect(await check(ports.grpc, "/b")).toBe("denied_response");

    // Written aside and renamed over the config, as editors and config-management tools do.
    await writeFile(
      join(dir, ".config.yaml.tmp"),
      config([
        { name: "a", match: { path: "/a" }, auth: "public" },
        { name: "b", match: { path: "/b" }, auth: "public" },
      ]),
    );
    await rename(join(dir, ".config.yaml.tmp"), file);
    const metrics = async () =>
      (await fetch(`http://127.0.0.1:${ports.admin}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    expect(
      await waitUntil(
        async () => readMetric(await metrics(), "portcullis_config_reloads_total", { result: "ok" }) === 1,
        10_000,
        50,
      ),
    ).toBe(true);

    expect(await check(ports.grpc, "/b")).toBe("ok_response");
    const summaryLogged = async () =>
      /"trigger":"file change".*"msg":"config reloaded"/.test(await readFile(join(dir, "portcullis.log"), "utf8"));
    expect(await waitUntil(summaryLogged, 5000, 50)).toBe(true);
  }, 45_000);
});
