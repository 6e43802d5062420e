// A `serve` process loads the heavy optional parts only when its config asks for them: without
// `redis` and `tracing` it never loads the Redis client (ioredis) or the OpenTelemetry SDK and
// exporter, and no serve process loads the demo (src/demo/, oidc-provider). Every module a real
// `serve` child loads, CommonJS included, is recorded by test/harness/recordLoadedModules.ts.
// With the node:net gRPC transport (the default) it loads neither grpc-js, proto-loader nor node:http2's server.
// A bearer-only serve fetches discovery and keys over node:http and verifies tokens with node:crypto:
// it does not load undici (Node's fetch, ~14 MB), and without tracing no module of ours asks for
// @opentelemetry/api (prom-client still requires it for its process CPU metric).
// (That tracing and Redis work when configured: tracing.test.ts, redisSessions.test.ts, redisHealth.test.ts.)
import { spawn } from "node:child_process";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempScope, type TempScope } from "../harness/createTempScope.ts";
import { checkOnce } from "../harness/grpcTestClients.ts";
import { reservePort } from "../harness/reservePort.ts";
import { killOnExit } from "../harness/startPortcullisProcess.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { createSigningKey, signToken, startLoopbackIdp } from "../unit/oidcLoopbackIdp.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const RECORDER = fileURLToPath(new URL("../harness/recordLoadedModules.ts", import.meta.url));

const REDIS_CLIENT = "/node_modules/ioredis/";
const TRACING_SDK = [
  "/node_modules/@opentelemetry/sdk-trace/",
  "/node_modules/@opentelemetry/exporter-trace-otlp-http/",
];
const DEMO = ["/src/demo/", "/node_modules/oidc-provider/"];
const UNDICI = "NativeModule internal/deps/undici/undici";
const GRPC_JS = ["/node_modules/@grpc/grpc-js/", "/node_modules/@grpc/proto-loader/", "/node_modules/protobufjs/"];

let started = 0;

/** Starts `serve` with `extra` merged into a one-provider config, waits for its ready line and returns what it loaded. */
async function modulesLoadedBy(scope: TempScope, extra: object): Promise<string[]> {
  return (await startRecordedServe(scope, extra)).loaded();
}

interface RecordedServe {
  /** Every module URL loaded so far (ESM and CommonJS). */
  loaded(): Promise<string[]>;
  /** The modules that asked for `pkg` (a bare specifier such as "@opentelemetry/api"). */
  importersOf(pkg: string): Promise<string[]>;
  /** Node's own modules loaded so far (process.moduleLoadList), asked of the process by SIGUSR2. */
  loadedInternally(): Promise<string[]>;
}

/** Starts `serve` with `extra` merged into a one-provider config and waits for its ready line. */
async function startRecordedServe(
  scope: TempScope,
  extra: object,
  env: Record<string, string> = {},
): Promise<RecordedServe> {
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
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env, PORTCULLIS_LOADED_MODULES_FILE: record } },
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
  const lines = async (file: string) => (await readFile(file, "utf8")).split("\n").filter((line) => line !== "");
  return {
    loaded: () => lines(record),
    importersOf: async (pkg) =>
      (await lines(`${record}.imports`))
        .map((line) => line.split(" "))
        .filter(([specifier]) => specifier === pkg || specifier?.startsWith(`${pkg}/`))
        .map(([, importer]) => importer ?? ""),
    async loadedInternally() {
      child.kill("SIGUSR2");
      const written = await waitUntil(() => access(`${record}.internal`).then(() => true), 10_000, 20);
      if (!written) throw new Error(`serve did not write its internal module list:\n${output.join("\n")}`);
      return lines(`${record}.internal`);
    },
  };
}

/** A serve whose one provider is a loopback IdP, a token it signed, and the verdict of a Check carrying a bearer. */
async function startBearerServe(scope: TempScope, env: Record<string, string>, login: object = {}) {
  const key = await createSigningKey("k1");
  const idp = await startLoopbackIdp([key.publicJwk]);
  scope.defer(() => idp.close());
  const grpc = await reservePort();
  await grpc.release();
  const serve = await startRecordedServe(
    scope,
    {
      listen: { grpc: `127.0.0.1:${grpc.port}`, auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
      providers: { idp: { issuer: idp.issuer, audiences: ["api"], allowInsecureHttp: true, ...login } },
      ...("clientId" in login ? { session: { keys: ["k".repeat(40)] } } : {}),
    },
    env,
  );
  const verdict = async (bearer: string) =>
    Object.keys(await checkOnce(grpc.port, "/", { authorization: `Bearer ${bearer}` })).find((field) =>
      field.endsWith("_response"),
    );
  return { serve, verdict, idp, token: await signToken(key, idp.issuer) };
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

  it("loads neither grpc-js nor proto-loader with the default node:net gRPC transport, and the others only when chosen", async () => {
    const net = await modulesLoadedBy(scope, {});
    expect(net.some((url) => url.endsWith("/src/transport/startNetGrpcServer.ts"))).toBe(true);
    expect(net.some((url) => url.endsWith("/src/transport/startHttp2GrpcServer.ts"))).toBe(false);
    expect(loadedAny(net, GRPC_JS)).toEqual([]);
    const http2 = await modulesLoadedBy(scope, {
      listen: { grpc: "127.0.0.1:0", grpcTransport: "http2", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    });
    expect(http2.some((url) => url.endsWith("/src/transport/startHttp2GrpcServer.ts"))).toBe(true);
    expect(loadedAny(http2, GRPC_JS)).toEqual([]);
    const grpcJs = await modulesLoadedBy(scope, {
      listen: { grpc: "127.0.0.1:0", grpcTransport: "grpc-js", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    });
    expect(loadedAny(grpcJs, ["/node_modules/@grpc/grpc-js/"]).length).toBeGreaterThan(0);
    expect(grpcJs.some((url) => url.endsWith("/src/transport/startHttp2GrpcServer.ts"))).toBe(false);
  });

  it("fetches keys and verifies bearer tokens without loading undici, nor asking for the OpenTelemetry API", async () => {
    const { serve, verdict, idp, token } = await startBearerServe(scope, {});
    // The provider loads after the ready line: wait until its keys answer.
    expect(await waitUntil(async () => (await verdict(token)) === "ok_response", 20_000)).toBe(true);
    expect(await verdict(`${token.slice(0, -4)}AAAA`)).toBe("denied_response");
    expect(idp.requests.discovery).toBeGreaterThanOrEqual(1);
    expect(idp.requests.jwks).toBeGreaterThanOrEqual(1);
    const internal = await serve.loadedInternally();
    expect(internal.some((name) => name.startsWith("NativeModule "))).toBe(true);
    expect(internal.filter((name) => name.includes("undici"))).toEqual([]);
    // prom-client's process CPU metric requires the API when prom-client loads (for exemplars,
    // which Portcullis does not enable); nothing of Portcullis's own asks for it without tracing.
    expect((await serve.importersOf("jose")).length).toBeGreaterThan(0); // the probe sees imports
    const importers = await serve.importersOf("@opentelemetry/api");
    expect(importers.filter((url) => !url.includes("/node_modules/prom-client/"))).toEqual([]);
  });

  it("with browser login configured, starts and verifies bearer tokens without loading undici", async () => {
    const { serve, verdict, token } = await startBearerServe(
      scope,
      {},
      { clientId: "web", clientSecret: "secret-secret", redirectUri: "https://app.example.com/oauth2/callback" },
    );
    expect(await waitUntil(async () => (await verdict(token)) === "ok_response", 20_000)).toBe(true);
    expect((await serve.loadedInternally()).filter((name) => name.includes("undici"))).toEqual([]);
  });

  it("goes through fetch (and so loads undici) when NODE_USE_ENV_PROXY asks Node to honour proxy variables", async () => {
    const { serve, verdict, token } = await startBearerServe(scope, { NODE_USE_ENV_PROXY: "1" });
    expect(await waitUntil(async () => (await verdict(token)) === "ok_response", 20_000)).toBe(true);
    expect(await serve.loadedInternally()).toContain(UNDICI);
  });

  it("loads the Redis client and the tracing SDK when redis and tracing are configured, and still not the demo", async () => {
    const urls = await modulesLoadedBy(scope, {
      redis: { url: "redis://127.0.0.1:DOWN_PORT", connectTimeoutMs: 200 },
      tracing: { enabled: true, endpoint: "http://127.0.0.1:DOWN_PORT/v1/traces" },
    });
    expect(loadedAny(urls, [REDIS_CLIENT]).length).toBeGreaterThan(0);
    expect(loadedAny(urls, ["/src/observability/startTracing.ts"]).length).toBe(1);
    for (const part of TRACING_SDK) expect(loadedAny(urls, [part]).length).toBeGreaterThan(0);
    expect(loadedAny(urls, DEMO)).toEqual([]);
  });
});
