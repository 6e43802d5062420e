// A `serve` process loads the heavy optional parts only when its config asks for them: without
// `redis` and `tracing` it never loads the Redis client (ioredis) or the OpenTelemetry SDK and
// exporter, and no serve process loads the demo (src/demo/, oidc-provider). Every module a real
// `serve` child loads, CommonJS included, is recorded by test/harness/recordLoadedModules.ts.
// With the node:http2 gRPC transport (the default) it loads neither grpc-js nor proto-loader.
// (That tracing and Redis work when configured: tracing.test.ts, redisSessions.test.ts, redisHealth.test.ts.)
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";
import { reservePort } from "../harness/reservePort.ts";
import { killOnExit } from "../harness/startPortcullisProcess.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const RECORDER = fileURLToPath(new URL("../harness/recordLoadedModules.ts", import.meta.url));

const REDIS_CLIENT = "/node_modules/ioredis/";
const TRACING_SDK = [
  "/node_modules/@opentelemetry/sdk-trace/",
  "/node_modules/@opentelemetry/exporter-trace-otlp-http/",
];
const DEMO = ["/src/demo/", "/node_modules/oidc-provider/"];
const GRPC_JS = ["/node_modules/@grpc/grpc-js/", "/node_modules/@grpc/proto-loader/", "/node_modules/protobufjs/"];

let started = 0;

/** Starts `serve` with `extra` merged into a one-provider config, waits for its ready line and returns what it loaded. */
async function modulesLoadedBy(scope: TempScope, extra: object): Promise<string[]> {
  // Nothing listens behind these ports (they reset connections): the process starts all the same.
  const down = await reservePort();
  scope.defer(() => down.release());
  started += 1;
  const configFile = join(scope.dir, `portcullis-${started}.json`);
  const config = {
    listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    providers: { idp: { issuer: `http://127.0.0.1:${down.port}`, audiences: ["api"], allowInsecureHttp: true } },
    routes: [{ name: "api", match: { path: "/" }, auth: "required", providers: ["idp"] }],
    shutdown: { drainSeconds: 0 },
    ...extra,
  };
  await writeFile(configFile, JSON.stringify(config).replaceAll("DOWN_PORT", String(down.port)), { mode: 0o600 });
  const record = join(scope.dir, `loaded-${started}.txt`);
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", "--import", RECORDER, MAIN, "serve", "--config", configFile],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PORTCULLIS_LOADED_MODULES_FILE: record } },
  );
  killOnExit(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  scope.defer(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  const output: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => output.push(line));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      output.push(line);
      if (line.includes('"portcullis ready"')) resolve();
    });
    void exited.then(() => reject(new Error(`serve exited before it was ready:\n${output.join("\n")}`)));
  });
  return (await readFile(record, "utf8")).split("\n").filter((url) => url !== "");
}

const loadedAny = (urls: readonly string[], parts: readonly string[]) =>
  urls.filter((url) => parts.some((part) => url.includes(part)));

describe("what a serve process loads", () => {
  let scope: TempScope;
  beforeEach(async () => {
    scope = await createTempScope("portcullis-modules-");
  });
  afterEach(() => scope.close());

  it("loads neither the Redis client nor the tracing SDK, nor the demo, when the config has no redis or tracing", async () => {
    const urls = await modulesLoadedBy(scope, {});
    expect(urls.some((url) => url.endsWith("/src/app/startServer.ts"))).toBe(true);
    expect(loadedAny(urls, [REDIS_CLIENT])).toEqual([]);
    expect(loadedAny(urls, TRACING_SDK)).toEqual([]);
    expect(loadedAny(urls, DEMO)).toEqual([]);
  });

  it("loads neither grpc-js nor proto-loader with the default node:http2 gRPC transport, and grpc-js only when chosen", async () => {
    const http2 = await modulesLoadedBy(scope, {});
    expect(http2.some((url) => url.endsWith("/src/transport/startHttp2GrpcServer.ts"))).toBe(true);
    expect(loadedAny(http2, GRPC_JS)).toEqual([]);
    const grpcJs = await modulesLoadedBy(scope, {
      listen: { grpc: "127.0.0.1:0", grpcTransport: "grpc-js", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    });
    expect(loadedAny(grpcJs, ["/node_modules/@grpc/grpc-js/"]).length).toBeGreaterThan(0);
    expect(grpcJs.some((url) => url.endsWith("/src/transport/startHttp2GrpcServer.ts"))).toBe(false);
  });

  it("loads the Redis client and the tracing SDK when redis and tracing are configured, and still not the demo", async () => {
    const urls = await modulesLoadedBy(scope, {
      redis: { url: "redis://127.0.0.1:DOWN_PORT", connectTimeoutMs: 200 },
      tracing: { enabled: true, endpoint: "http://127.0.0.1:DOWN_PORT/v1/traces" },
    });
    expect(loadedAny(urls, [REDIS_CLIENT]).length).toBeGreaterThan(0);
    for (const part of TRACING_SDK) expect(loadedAny(urls, [part]).length).toBeGreaterThan(0);
    expect(loadedAny(urls, DEMO)).toEqual([]);
  });
});
