// `portcullis serve --workers 2` as an operator runs it: one supervisor, two worker processes
// sharing the gRPC port (SO_REUSEPORT), one admin listener for both. Checks from many connections
// reach both workers and /metrics counts them all; /readyz waits for every worker's keys; a killed
// worker comes back; SIGHUP and --watch (the config file or the API keys file it names) reach every
// worker; SIGTERM drains them and exits 0. Each worker logs the traces asked of it
// (log.traceRequests). Bad --workers values and configs that need one process are refused before
// anything starts.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countAvailableCpus } from "../../src/app/countAvailableCpus.ts";
import { checkOnce } from "../harness/grpcTestClients.ts";
import { readMetric } from "../harness/readMetric.ts";
import { startRedis } from "../harness/startRedis.ts";
import { killOnExit, REPO_ROOT } from "../harness/startPortcullisProcess.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
// Every serve this file starts gets it through its environment (config: ${PORTCULLIS_E2E_TRACE_SECRET}).
const TRACE_SECRET = "workers-trace-secret-0123456789abcdef";
process.env["PORTCULLIS_E2E_TRACE_SECRET"] = TRACE_SECRET;

interface Serving {
  readonly pid: number;
  readonly ports: { grpc: number; admin: number };
  readonly exited: Promise<number | null>;
  lines(): Array<Record<string, unknown>>;
}

/** `serve` with extra arguments, its stdout kept in a file; resolves at the "portcullis ready" line. */
async function serve(
  config: string,
  log: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<Serving> {
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", MAIN, "serve", "--config", config, ...args],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env, NODE_ENV: "test" } },
  );
  killOnExit(child);
  const out = createWriteStream(log);
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const lines = () =>
    (existsSync(log) ? readFileSync(log, "utf8") : "")
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const ready = await waitUntil(async () => lines().some((l) => l["msg"] === "portcullis ready"), 60_000);
  if (!ready) throw new Error(`no ready line:\n${readFileSync(log, "utf8")}`);
  const line = lines().find((l) => l["msg"] === "portcullis ready")!;
  return {
    pid: child.pid ?? -1,
    ports: { grpc: line["grpcPort"] as number, admin: line["adminPort"] as number },
    exited,
    lines,
  };
}

function workerPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function admin(s: Serving, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${s.ports.admin}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

const ADMIN_TOKEN = "an-admin-token-for-the-workers-test-0123456789";
const ADMIN_API = 'admin: { api: { enabled: true, token: "${PORTCULLIS_ADMIN_TOKEN}" } }';

/** An admin API request to the supervisor's admin listener, with the admin token. */
async function adminApi(s: Serving, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${s.ports.admin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function runServe(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, "serve", ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
}

describe("portcullis serve --workers 2", () => {
  let dir: string;
  let idp: Server;
  let issuer: string;
  let keysServed = false;
  let token: string;
  let portcullis: Serving;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-workers-"));
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    // The IdP answers its keys only once the test says so: until then no worker can be ready.
    idp = createServer((req, res) => {
      if (req.url === "/.well-known/openid-configuration")
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
      else if (req.url === "/jwks" && keysServed)
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
      else res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    token = await signToken(privateKey, issuer);
    await writeFile(join(dir, "config.yaml"), `${config(issuer, [])}\n${ADMIN_API}`);
    portcullis = await serve(join(dir, "config.yaml"), join(dir, "serve.log"), ["--workers", "2"], {
      PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
    });
  });

  afterAll(async () => {
    // Gone already when the last test passed; its workers end themselves once their supervisor is gone.
    if (portcullis !== undefined && existsSync(`/proc/${portcullis.pid}`)) process.kill(portcullis.pid, "SIGKILL");
    await new Promise<void>((resolve) => idp?.close(() => resolve()));
    if (process.env.PORTCULLIS_KEEP_E2E_LOGS === undefined) await rm(dir, { recursive: true, force: true });
  });

  it("says not ready until every worker has its provider's keys, then ready", async () => {
    expect(portcullis.lines().find((l) => l["msg"] === "portcullis ready")).toMatchObject({ workers: 2 });
    const before = await admin(portcullis, "/readyz");
    expect(before.status).toBe(503);
    // Which reason depends on how far the supervisor's readiness poll has got; none says ready.
    expect(before.body).toMatch(
      /^not ready: (worker \d: waiting for provider keys: idp|worker \d has not answered|\d of 2 workers)/,
    );
    expect((await admin(portcullis, "/healthz")).status).toBe(200);
    keysServed = true;
    expect(await waitUntil(async () => (await admin(portcullis, "/readyz")).status === 200, 20_000)).toBe(true);
  });

  it("answers checks on one port from both workers, each logging the traces asked of it, and /metrics counts every check once", async () => {
    const sent = 24;
    for (let i = 0; i < sent; i++) {
      // checkOnce opens a connection of its own: the kernel hashes each to one of the two sockets.
      const response = await checkOnce(
        portcullis.ports.grpc,
        "/api",
        { authorization: `Bearer ${token}`, "x-portcullis-trace": TRACE_SECRET },
        `trace-${i}`,
      );
      expect(response["status"]?.code ?? 0).toBe(0);
    }
    const traced = () => portcullis.lines().filter((l) => l["msg"] === "request trace");
    expect(await waitUntil(async () => traced().length === sent, 10_000)).toBe(true);
    expect(new Set(traced().map((l) => l["requestId"])).size).toBe(sent);
    expect(new Set(traced().map((l) => l["worker"]))).toEqual(new Set([1, 2]));
    const metrics = (await admin(portcullis, "/metrics")).body;
    expect(readMetric(metrics, "portcullis_checks_total", { decision: "allow", route: "api" })).toBe(sent);
    const one = readMetric(metrics, "portcullis_worker_checks", { worker: "1" });
    const two = readMetric(metrics, "portcullis_worker_checks", { worker: "2" });
    expect(one).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
    expect(one + two).toBe(sent);
    expect(readMetric(metrics, "portcullis_request_traces_total", { result: "traced" })).toBe(sent);
    expect(readMetric(metrics, "portcullis_provider_ready", { provider: "idp" })).toBe(1);
    expect(readMetric(metrics, "portcullis_workers", { state: "ready" })).toBe(2);
  });

  it("answers the admin API from the supervisor: without Redis it refuses with admin_needs_redis, as no worker would learn", async () => {
    const refused = await adminApi(portcullis, "POST", "/admin/users/revoke", { sub: "someone" });
    expect([refused.status, refused.body["error"]]).toEqual([409, "admin_needs_redis"]);
    const metrics = (await admin(portcullis, "/metrics")).body;
    expect(
      readMetric(metrics, "portcullis_admin_actions_total", { action: "end_user_sessions", result: "conflict" }),
    ).toBe(1);
  });

  it("reloads every worker on SIGHUP", async () => {
    await writeFile(
      join(dir, "config.yaml"),
      config(issuer, ["  - { name: open, match: { path: /open }, auth: public }"]),
    );
    process.kill(portcullis.pid, "SIGHUP");
    const reloaded = () =>
      new Set(
        portcullis
          .lines()
          .filter((l) => l["msg"] === "config reloaded")
          .map((l) => l["worker"]),
      );
    expect(await waitUntil(async () => reloaded().size === 2, 20_000)).toBe(true);
    expect(reloaded()).toEqual(new Set([1, 2]));
    for (let i = 0; i < 6; i++) {
      const response = await checkOnce(portcullis.ports.grpc, "/open");
      expect(response["status"]?.code ?? 0).toBe(0);
    }
    // The supervisor read the file too: the admin API it no longer names is off, its token refused.
    const withOldToken = await fetch(`http://127.0.0.1:${portcullis.ports.admin}/admin/users/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ sub: "someone" }),
      signal: AbortSignal.timeout(5000),
    });
    await withOldToken.arrayBuffer();
    expect(withOldToken.status).toBe(404);
  });

  it("starts a killed worker again and is ready again, its checks still counted", async () => {
    const checksBefore = readMetric((await admin(portcullis, "/metrics")).body, "portcullis_checks_total");
    expect(checksBefore).toBe(30);
    const [victim] = workerPids(portcullis.pid);
    expect(victim).toBeDefined();
    process.kill(victim!, "SIGKILL");
    const restarted = async () => {
      const pids = workerPids(portcullis.pid);
      return pids.length === 2 && !pids.includes(victim!);
    };
    expect(await waitUntil(restarted, 20_000)).toBe(true);
    expect(
      portcullis.lines().some((l) => l["msg"] === "worker exited; starting it again" && l["signal"] === "SIGKILL"),
    ).toBe(true);
    expect(await waitUntil(async () => (await admin(portcullis, "/readyz")).status === 200, 20_000)).toBe(true);
    const metrics = (await admin(portcullis, "/metrics")).body;
    expect(readMetric(metrics, "portcullis_worker_restarts_total")).toBe(1);
    // What the killed worker had counted by the last scrape stays in the total: no drop for Prometheus to read as a reset.
    expect(readMetric(metrics, "portcullis_checks_total")).toBe(checksBefore);
  });

  it("drains every worker on SIGTERM and exits 0", async () => {
    const workers = workerPids(portcullis.pid);
    process.kill(portcullis.pid, "SIGTERM");
    expect(await portcullis.exited).toBe(0);
    const stopped = portcullis.lines().filter((l) => l["msg"] === "stopped");
    expect(new Set(stopped.map((l) => l["worker"] ?? "supervisor"))).toEqual(new Set([1, 2, "supervisor"]));
    for (const pid of workers) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});

describe("portcullis serve --workers refusals", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-workers-refused-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a worker count that is not a whole number from 1 up, from the flag or the environment", async () => {
    await writeFile(join(dir, "ok.yaml"), config("https://idp.example.com", []));
    const zero = runServe(["--config", join(dir, "ok.yaml"), "--workers", "0"]);
    expect(zero.status).toBe(1);
    expect(zero.stderr).toContain("--workers 0 is out of range: a whole number from 1 to 256, or auto");
    const word = runServe(["--config", join(dir, "ok.yaml"), "--workers=abc"]);
    expect(word.status).toBe(1);
    expect(word.stderr).toContain('--workers "abc" is not a whole number from 1 to 256');
    const env = runServe(["--config", join(dir, "ok.yaml")], { PORTCULLIS_WORKERS: "two" });
    expect(env.status).toBe(1);
    expect(env.stderr).toContain('PORTCULLIS_WORKERS "two" is not a whole number');
  });

  it("refuses a bad config before any worker starts, with the messages of one process", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(file, config("https://idp.example.com", []).replace("audiences:", "audiencez:"));
    const one = runServe(["--config", file]);
    const two = runServe(["--config", file, "--workers", "2"]);
    expect(two.status).toBe(1);
    expect(one.status).toBe(1);
    expect(two.stderr).toBe(one.stderr);
    expect(two.stderr).toContain('did you mean "audiences"');
    expect(two.stdout).not.toContain("worker");
  });

  it("refuses several workers for browser login without Redis, naming redis.url; auto runs one process", async () => {
    const file = join(dir, "login.yaml");
    await writeFile(file, loginConfig());
    const refused = runServe(["--config", file, "--workers", "2"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("error: redis.url: --workers 2 needs Redis with browser login");
    expect(refused.stderr).toContain("nothing was started");
    expect(refused.stdout).not.toContain("portcullis ready");
    const auto = await serve(file, join(dir, "auto.log"), ["--workers", "auto"]);
    try {
      const ready = auto.lines().find((l) => l["msg"] === "portcullis ready")!;
      expect(ready["workers"]).toBeUndefined();
      const fellBack = auto.lines().some((l) => String(l["msg"]).startsWith("--workers auto: running one process"));
      expect(fellBack).toBe(countAvailableCpus() > 1);
    } finally {
      process.kill(auto.pid, "SIGTERM");
      expect(await auto.exited).toBe(0);
    }
  });

  it("runs several workers for browser login when sessions and logouts live in Redis", async () => {
    const redis = await startRedis();
    try {
      const file = join(dir, "redis.yaml");
      await writeFile(
        file,
        `${loginConfig()}\nredis: { url: "${redis.url}" }\nsession: { store: redis, keys: [${SESSION_KEY}] }\n${ADMIN_API}`.replace(
          `session: { keys: [${SESSION_KEY}] }\n`,
          "",
        ),
      );
      const served = await serve(file, join(dir, "redis.log"), ["--workers", "2"], {
        PORTCULLIS_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      expect(served.lines().find((l) => l["msg"] === "portcullis ready")).toMatchObject({ workers: 2 });
      const connected = () =>
        served
          .lines()
          .filter((l) => l["msg"] === "Redis connected")
          .map((l) => l["worker"]);
      expect(await waitUntil(async () => new Set(connected()).size === 2, 20_000)).toBe(true);
      // The supervisor serves the admin API over its own Redis connection: what it ends is stored
      // in the revocation hash every worker follows.
      const ended = await adminApi(served, "POST", "/admin/users/revoke", { sub: "alice" });
      expect(ended).toMatchObject({
        status: 200,
        body: { providers: ["idp"], sessionsDeleted: 0, everyReplica: true },
      });
      expect(await redis.command("HLEN", "portcullis:revocations")).toBe(1);
      expect(await adminApi(served, "GET", "/admin/sessions?sub=alice")).toEqual({
        status: 200,
        body: { sub: "alice", sessions: [] },
      });
      process.kill(served.pid, "SIGTERM");
      expect(await served.exited).toBe(0);
    } finally {
      await redis.close();
    }
  });

  it("reloads every worker when the watched file changes", async () => {
    const file = join(dir, "watched.yaml");
    await writeFile(file, config("http://127.0.0.1:9", []));
    const served = await serve(file, join(dir, "watched.log"), ["--workers", "2", "--watch"]);
    try {
      expect(served.lines().find((l) => l["msg"] === "portcullis ready")).toMatchObject({ workers: 2, watch: true });
      await writeFile(file, config("http://127.0.0.1:9", ["  - { name: open, match: { path: /open }, auth: public }"]));
      const reloaded = () =>
        new Set(
          served
            .lines()
            .filter((l) => l["msg"] === "config reloaded" && l["trigger"] === "file change")
            .map((l) => l["worker"]),
        );
      expect(await waitUntil(async () => reloaded().size === 2, 20_000)).toBe(true);
    } finally {
      process.kill(served.pid, "SIGTERM");
      expect(await served.exited).toBe(0);
    }
  });

  it("reloads every worker when the API keys file the config names changes, in its own directory", async () => {
    const keysDir = await mkdtemp(join(tmpdir(), "portcullis-workers-keys-"));
    const keysFile = join(keysDir, "api-keys.yaml");
    const entry = (client: string) => `- { clientId: ${client}, sha256: ${client.padEnd(64, "0")} }\n`;
    await writeFile(keysFile, entry("aa"));
    const file = join(dir, "keys-watched.yaml");
    const keyRoutes = ["  - { name: legacy, match: { path: /legacy }, auth: required, apiKeys: true }"];
    await writeFile(
      file,
      `${config("http://127.0.0.1:9", keyRoutes)}\napiKeys: { enabled: true, file: ${keysFile} }\n`,
    );
    const served = await serve(file, join(dir, "keys-watched.log"), ["--workers", "2", "--watch"]);
    try {
      await writeFile(keysFile, `${entry("aa")}${entry("bb")}`);
      const reloaded = () =>
        served
          .lines()
          .filter((l) => l["msg"] === "config reloaded" && l["trigger"] === "file change")
          .map((l) => ({ worker: l["worker"], apiKeys: l["apiKeys"], apiKeysChanged: l["apiKeysChanged"] }));
      expect(await waitUntil(async () => new Set(reloaded().map((r) => r.worker)).size === 2, 20_000)).toBe(true);
      expect(reloaded().map(({ apiKeys, apiKeysChanged }) => ({ apiKeys, apiKeysChanged }))).toEqual([
        { apiKeys: 2, apiKeysChanged: true },
        { apiKeys: 2, apiKeysChanged: true },
      ]);
    } finally {
      process.kill(served.pid, "SIGTERM");
      expect(await served.exited).toBe(0);
      await rm(keysDir, { recursive: true, force: true });
    }
  });

  it("refuses several workers on the grpc-js transport, naming listen.grpcTransport", async () => {
    const file = join(dir, "grpcjs.yaml");
    await writeFile(
      file,
      config("https://idp.example.com", []).replace("grpcTransport: http2", "grpcTransport: grpc-js"),
    );
    const refused = runServe(["--config", file, "--workers", "2"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("error: listen.grpcTransport: --workers 2 needs the http2 transport");
  });
});

function config(issuer: string, extraRoutes: readonly string[]): string {
  return [
    'listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0", grpcTransport: http2 }',
    "providers:",
    "  idp:",
    `    issuer: ${issuer}`,
    "    audiences: [workers-api]",
    "    allowInsecureHttp: true",
    "routes:",
    "  - { name: api, match: { path: /api }, auth: required }",
    ...extraRoutes,
    "shutdown: { graceSeconds: 5, drainSeconds: 0 }",
    'log: { traceRequests: { enabled: true, secret: "${PORTCULLIS_E2E_TRACE_SECRET}", maxPerSecond: 100 } }',
  ].join("\n");
}

const SESSION_KEY = "0123456789abcdef0123456789abcdef0123456789";

function loginConfig(): string {
  return [
    'listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0", grpcTransport: http2 }',
    "providers:",
    "  idp:",
    "    issuer: http://127.0.0.1:9",
    "    audiences: [workers-api]",
    "    allowInsecureHttp: true",
    "    clientId: web",
    "    redirectUri: https://app.example.com/oauth2/callback",
    `session: { keys: [${SESSION_KEY}] }`,
    "routes:",
    "  - { name: api, match: { path: /api }, auth: required }",
    "shutdown: { graceSeconds: 5, drainSeconds: 0 }",
  ].join("\n");
}

async function signToken(key: CryptoKey, issuer: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: "api" })
    .setProtectedHeader({ alg: "RS256", kid: "k1", typ: "at+jwt" })
    .setIssuer(issuer)
    .setAudience("workers-api")
    .setSubject("someone")
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
}
