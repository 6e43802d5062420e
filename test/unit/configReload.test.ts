// Config reload without sockets to Envoy: what a reload may not change, the atomic swap of the
// Check pipeline (checks in flight finish on their config, unchanged providers keep their state,
// a reload is applied whole or not at all), the reloader's result counting and logging, and the
// file watcher's view of editors and ConfigMap symlink swaps. IdPs are loopback servers on port 0.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rename, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { JWK } from "jose";
import { stringify } from "yaml";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { createConfigReloader } from "../../src/app/createConfigReloader.ts";
import { createLivePipeline, type LivePipeline } from "../../src/app/createLivePipeline.ts";
import { reloadProblems } from "../../src/app/reloadProblems.ts";
import { startServer } from "../../src/app/startServer.ts";
import { watchConfigFile } from "../../src/app/watchConfigFile.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { readMetric } from "../harness/readMetric.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { createSigningKey, signToken } from "./oidcLoopbackIdp.ts";
import { checkRequest } from "../harness/checkRequest.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A loopback IdP whose discovery or JWKS answers can be held back, to keep a load or a check in flight. */
interface HoldableIdp {
  readonly issuer: string;
  readonly requests: { discovery: number; jwks: number };
  keys: JWK[];
  hold: { discovery: boolean; jwks: boolean };
  /** Requests waiting for release(). */
  held(): number;
  release(): void;
}

async function startIdp(keys: JWK[]): Promise<HoldableIdp> {
  const waiting: Array<() => void> = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const answer = (body: unknown) => (response: ServerResponse) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(body));
    };
    let send: ((response: ServerResponse) => void) | undefined;
    let held = false;
    if (path === "/.well-known/openid-configuration") {
      idp.requests.discovery += 1;
      send = answer({ issuer: idp.issuer, jwks_uri: `${idp.issuer}/jwks` });
      held = idp.hold.discovery;
    } else if (path === "/jwks") {
      idp.requests.jwks += 1;
      // The keys as they are when the answer goes out.
      send = (response) => answer({ keys: idp.keys })(response);
      held = idp.hold.jwks;
    }
    if (send === undefined) {
      res.statusCode = 404;
      res.end();
    } else if (held) {
      waiting.push(() => send(res));
    } else {
      send(res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const idp: HoldableIdp = {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: { discovery: 0, jwks: 0 },
    keys,
    hold: { discovery: false, jwks: false },
    held: () => waiting.length,
    release() {
      idp.hold = { discovery: false, jwks: false };
      for (const send of waiting.splice(0)) send();
    },
  };
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        idp.release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return idp;
}

/** A port nothing listens on: connections are refused at once. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function provider(issuer: string, extra: Record<string, unknown> = {}) {
  return {
    issuer,
    audiences: ["api"],
    allowInsecureHttp: true,
    jwksCooldownSeconds: 0,
    jwksTimeoutMs: 5000,
    discoveryTimeoutMs: 2000,
    ...extra,
  };
}

/** Loopback listeners on port 0 unless the test says otherwise. */
function withDefaults(raw: Record<string, unknown>): Record<string, unknown> {
  return {
    listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    log: { level: "info" },
    shutdown: { drainSeconds: 0 },
    ...raw,
  };
}

function configOf(raw: Record<string, unknown>): PortcullisConfig {
  const result = parseConfig(withDefaults(raw));
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.path}: ${p.message}`).join("; "));
  return result.config;
}

/** `GET https://localhost{path}`, with the bearer token when one is given. */
function request(path: string, token?: string): AccessRequest {
  return checkRequest(path, token === undefined ? {} : { authorization: `Bearer ${token}` }, { host: "localhost" });
}

/** A logger whose JSON lines are kept for assertions. */
function memoryLogger(level = "info") {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(level, {
    write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
}

async function startedLive(config: PortcullisConfig): Promise<LivePipeline> {
  const live = createLivePipeline(config, memoryLogger().logger);
  cleanups.push(() => live.close());
  await live.start();
  expect(live.current().registry.isReady()).toBe(true);
  return live;
}

describe("what a reload may not change", () => {
  const base = configOf({ routes: [{ name: "api", match: { path: "/api" }, auth: "public" }] });

  it("refuses a reload that moves a listener, naming its key path", () => {
    const moved = configOf({
      listen: { grpc: "127.0.0.1:9292", auth: "127.0.0.1:0", admin: "0.0.0.0:0" },
      routes: [{ name: "api", match: { path: "/api" }, auth: "public" }],
    });
    const problems = reloadProblems(base, moved);
    expect(problems.map((p) => p.path)).toEqual(["listen.grpc", "listen.admin"]);
    expect(problems[0]?.message).toContain("127.0.0.1:9292");
    expect(problems[0]?.message).toContain("restart");
  });

  it("accepts a reload with the same listeners whatever else changes", () => {
    const other = configOf({
      routes: [{ name: "docs", match: { path: "/docs" }, auth: "public" }],
      identity: { headers: { sub: "x-subject" } },
      log: { level: "debug" },
    });
    expect(reloadProblems(base, other)).toEqual([]);
  });

  it("refuses a reload that turns browser login on", () => {
    const login = configOf({
      providers: {
        idp: provider("https://idp.example.com", {
          clientId: "c",
          clientSecret: "s".repeat(16),
          redirectUri: "https://app.example.com/oauth2/callback",
        }),
      },
      session: { keys: ["k".repeat(32)] },
      routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
    });
    expect(reloadProblems(base, login).map((p) => p.path)).toEqual(["session.keys"]);
    expect(reloadProblems(login, base)[0]?.message).toContain("cannot be turned off");
  });
});

describe("swapping the Check pipeline on reload", () => {
  it("finishes a check in flight on the config it started on while the next check runs on the reloaded one", async () => {
    const k1 = await createSigningKey("k1");
    const k2 = await createSigningKey("k2");
    const idp = await startIdp([k1.publicJwk]);
    const providers = { idp: provider(idp.issuer) };
    const live = await startedLive(
      configOf({ providers, routes: [{ name: "before", match: { path: "/api" }, auth: "required" }] }),
    );

    // A token with a kid the loaded key set lacks: its check waits for a JWKS refetch we hold back.
    idp.keys = [k1.publicJwk, k2.publicJwk];
    idp.hold.jwks = true;
    const inFlight = live.gate.decide(request("/api/x", await signToken(k2, idp.issuer)));
    expect(await waitUntil(async () => idp.held() === 1, 5000, 10)).toBe(true);

    const outcome = await live.apply(
      configOf({ providers, routes: [{ name: "after", match: { path: "/api" }, auth: "required" }] }),
    );
    expect(outcome.result).toBe("ok");
    const next = await live.gate.decide(request("/api/x", await signToken(k1, idp.issuer)));
    expect(next).toMatchObject({ kind: "allow", route: "after" });

    idp.release();
    expect(await inFlight).toMatchObject({ kind: "allow", route: "before" });
  });

  it("keeps the registry, its keys and its token cache when no provider changed", async () => {
    const key = await createSigningKey("k1");
    const idp = await startIdp([key.publicJwk]);
    const providers = { idp: provider(idp.issuer) };
    const live = await startedLive(
      configOf({ providers, routes: [{ name: "api", match: { path: "/api" }, auth: "required" }] }),
    );
    const token = await signToken(key, idp.issuer);
    expect(await live.gate.decide(request("/api/x", token))).toMatchObject({ kind: "allow" });
    const registry = live.current().registry;
    const fetched = { ...idp.requests };

    const outcome = await live.apply(
      configOf({
        providers,
        routes: [
          { name: "api", match: { path: "/api" }, auth: "required" },
          { name: "docs", match: { path: "/docs" }, auth: "public" },
        ],
      }),
    );

    expect(outcome).toMatchObject({
      result: "ok",
      summary: { providersKept: ["idp"], providersLoaded: [], routes: 2 },
    });
    expect(live.current().registry).toBe(registry);
    expect(registry.cacheSize()).toBe(1);
    expect(idp.requests).toEqual(fetched);
    expect(await live.gate.decide(request("/docs"))).toMatchObject({ kind: "allow", route: "docs" });
  });

  it("loads a changed provider before the swap while an unchanged one keeps its discovery and keys", async () => {
    const keyA = await createSigningKey("a1");
    const keyB = await createSigningKey("b1");
    const [idpA, idpB] = [await startIdp([keyA.publicJwk]), await startIdp([keyB.publicJwk])];
    const routes = [{ name: "api", match: { path: "/api" }, auth: "required" }];
    const live = await startedLive(
      configOf({ providers: { a: provider(idpA.issuer), b: provider(idpB.issuer) }, routes }),
    );
    const fetchedA = { ...idpA.requests };
    const discoveriesB = idpB.requests.discovery;

    // B's new load is held: the reload must not swap (nor answer) before B is ready.
    idpB.hold.discovery = true;
    const applying = live.apply(
      configOf({
        providers: { a: provider(idpA.issuer), b: provider(idpB.issuer, { audiences: ["api", "api-v2"] }) },
        routes,
      }),
    );
    expect(await waitUntil(async () => idpB.held() === 1, 5000, 10)).toBe(true);
    const tokenB2 = await signToken(keyB, idpB.issuer, { aud: "api-v2" });
    expect(await live.gate.decide(request("/api/x", tokenB2))).toMatchObject({
      kind: "deny",
      code: "audience_mismatch",
    });
    idpB.release();

    expect(await applying).toMatchObject({ result: "ok", summary: { providersKept: ["a"], providersLoaded: ["b"] } });
    expect(live.current().registry.isReady()).toBe(true);
    expect(idpA.requests).toEqual(fetchedA);
    expect(idpB.requests.discovery).toBe(discoveriesB + 1);
    expect(await live.gate.decide(request("/api/x", tokenB2))).toMatchObject({ kind: "allow" });
    expect(await live.gate.decide(request("/api/x", await signToken(keyA, idpA.issuer)))).toMatchObject({
      kind: "allow",
    });
  });

  it("does not apply a reload whose new provider cannot load, and the kept providers go on refreshing", async () => {
    const k1 = await createSigningKey("k1");
    const k2 = await createSigningKey("k2");
    const idp = await startIdp([k1.publicJwk]);
    const routes = [{ name: "api", match: { path: "/api" }, auth: "required" }];
    const live = await startedLive(configOf({ providers: { idp: provider(idp.issuer) }, routes }));
    const before = live.current();

    const outcome = await live.apply(
      configOf({
        providers: {
          idp: provider(idp.issuer),
          down: provider(`http://127.0.0.1:${await deadPort()}`, { discoveryTimeoutMs: 500 }),
        },
        routes: [{ name: "changed", match: { path: "/api" }, auth: "public" }],
      }),
    );

    expect(outcome.result).toBe("error");
    expect(outcome.result !== "ok" && outcome.problems.map((p) => p.path)).toEqual(["providers.down"]);
    expect(live.current()).toBe(before);
    expect(await live.gate.decide(request("/api/x"))).toMatchObject({ kind: "deny", route: "api" });
    // The provider the abandoned successor shared still fetches keys: an unknown kid loads the new key.
    idp.keys = [k1.publicJwk, k2.publicJwk];
    expect(await live.gate.decide(request("/api/x", await signToken(k2, idp.issuer)))).toMatchObject({
      kind: "allow",
      route: "api",
    });
  });

  it("closes the replaced registry once no check runs on it, so a removed provider fetches nothing more", async () => {
    const keyA = await createSigningKey("a1");
    const [b1, b2] = [await createSigningKey("b1"), await createSigningKey("b2")];
    const [idpA, idpB] = [await startIdp([keyA.publicJwk]), await startIdp([b1.publicJwk])];
    const routes = [{ name: "api", match: { path: "/api" }, auth: "required" }];
    const live = await startedLive(
      configOf({ providers: { a: provider(idpA.issuer), b: provider(idpB.issuer) }, routes }),
    );
    const before = live.current();

    expect(await live.apply(configOf({ providers: { a: provider(idpA.issuer) }, routes }))).toMatchObject({
      result: "ok",
      summary: { providersKept: ["a"], providersRemoved: ["b"] },
    });

    idpB.keys = [b1.publicJwk, b2.publicJwk];
    const fetched = idpB.requests.jwks;
    expect(await before.registry.verify(await signToken(b2, idpB.issuer), [])).toMatchObject({
      ok: false,
      code: "jwks_unavailable",
    });
    expect(idpB.requests.jwks).toBe(fetched);
    expect(await live.gate.decide(request("/api/x", await signToken(b1, idpB.issuer)))).toMatchObject({
      kind: "deny",
      code: "issuer_mismatch",
    });
    expect(await live.gate.decide(request("/api/x", await signToken(keyA, idpA.issuer)))).toMatchObject({
      kind: "allow",
    });
  });

  it("refuses a reload that moves a listener and keeps running on the old config", async () => {
    const live = createLivePipeline(
      configOf({ routes: [{ name: "api", match: { path: "/api" }, auth: "public" }] }),
      memoryLogger().logger,
    );
    cleanups.push(() => live.close());
    const before = live.current();
    const outcome = await live.apply(
      configOf({
        listen: { grpc: "127.0.0.1:9191", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
        routes: [{ name: "docs", match: { path: "/docs" }, auth: "public" }],
      }),
    );
    expect(outcome).toMatchObject({ result: "invalid", problems: [{ path: "listen.grpc" }] });
    expect(live.current()).toBe(before);
    expect(await live.gate.decide(request("/docs"))).toMatchObject({ kind: "deny" });
  });
});

describe("reloading from the file", () => {
  async function serverWith(file: string, raw: Record<string, unknown>) {
    await writeFile(file, stringify(withDefaults(raw)));
    const { logger, lines } = memoryLogger();
    const server = await startServer(configOf(raw), { logger });
    cleanups.push(() => server.stop());
    const reloader = createConfigReloader({ file, env: {}, server, logger });
    const metric = async (result: string) =>
      readMetric(await server.metrics.registry.metrics(), "portcullis_config_reloads_total", { result });
    return { server, reloader, lines, metric };
  }

  it("counts an invalid file, logs each problem with its key path at warn and keeps the running config", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portcullis-reload-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "config.yaml");
    const { server, reloader, lines, metric } = await serverWith(file, {
      routes: [{ name: "api", match: { path: "/api" }, auth: "public" }],
    });
    const running = server.config();
    await writeFile(
      file,
      stringify(withDefaults({ routes: [{ name: "api", match: { path: "api" }, auth: "sometimes" }] })),
    );

    expect(await reloader.reload("SIGHUP")).toBe("invalid");

    expect(server.config()).toBe(running);
    expect(await metric("invalid")).toBe(1);
    expect(await metric("ok")).toBe(0);
    const problemLines = lines.filter((l) => l["level"] === "warn" && typeof l["key"] === "string");
    expect(problemLines.map((l) => l["key"]).sort()).toEqual(["routes[0].auth", "routes[0].match.path"]);
    expect(
      lines.some((l) => l["level"] === "warn" && String(l["msg"]).includes("still running on the previous config")),
    ).toBe(true);
  });

  it("merges reload requests that arrive while one runs into one more reload", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portcullis-reload-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "config.yaml");
    const key = await createSigningKey("k1");
    const idp = await startIdp([key.publicJwk]);
    const { server, reloader, lines, metric } = await serverWith(file, {
      routes: [{ name: "api", match: { path: "/api" }, auth: "public" }],
    });
    await writeFile(
      file,
      stringify(
        withDefaults({
          providers: { idp: provider(idp.issuer) },
          routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
        }),
      ),
    );

    idp.hold.discovery = true;
    const first = reloader.reload("SIGHUP");
    expect(await waitUntil(async () => idp.held() === 1, 5000, 10)).toBe(true);
    const second = reloader.reload("file change");
    const third = reloader.reload("SIGHUP");
    idp.release();

    expect(await Promise.all([first, second, third])).toEqual(["ok", "ok", "ok"]);
    expect(await metric("ok")).toBe(2);
    expect(Object.keys(server.config().providers)).toEqual(["idp"]);
    const summaries = lines.filter((l) => l["msg"] === "config reloaded");
    expect(summaries.map((l) => l["providersLoaded"])).toEqual([["idp"], []]);
    expect(
      readMetric(await server.metrics.registry.metrics(), "portcullis_config_last_reload_success_timestamp_seconds"),
    ).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(summaries[0]).toMatchObject({ trigger: "SIGHUP", sessionKeysChanged: false });
  });
});

describe("watching the config file", () => {
  const DEBOUNCE_MS = 50;

  async function watched(setup: (dir: string) => Promise<string>) {
    const dir = await mkdtemp(join(tmpdir(), "portcullis-watch-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = await setup(dir);
    let changes = 0;
    const clock = createManualClock();
    const watcher = watchConfigFile(file, () => (changes += 1), { debounceMs: DEBOUNCE_MS, clock });
    cleanups.push(() => watcher.close());
    /**
     * The file system's events arrive in real time; the debounce runs on the manual clock, so each
     * poll lets the debounce of the events seen so far run out.
     */
    const calledBack = (times: number) =>
      waitUntil(
        async () => {
          clock.advance(DEBOUNCE_MS);
          return changes === times;
        },
        5000,
        10,
      );
    return { dir, file, clock, changes: () => changes, calledBack };
  }

  it("calls back once when an editor writes a new file and renames it over the config", async () => {
    const { dir, file, clock, changes, calledBack } = await watched(async (d) => {
      await writeFile(join(d, "config.yaml"), "routes: []\n");
      return join(d, "config.yaml");
    });
    await writeFile(join(dir, ".config.yaml.swp"), "routes: [1]\n");
    await rename(join(dir, ".config.yaml.swp"), file);
    expect(await calledBack(1)).toBe(true);
    clock.advance(DEBOUNCE_MS * 4);
    expect(changes()).toBe(1);
  });

  it("calls back when a ConfigMap's ..data symlink is swapped to a new directory", async () => {
    const { dir, calledBack } = await watched(async (d) => {
      await mkdir(join(d, "..2024_01"));
      await writeFile(join(d, "..2024_01", "config.yaml"), "routes: []\n");
      await symlink("..2024_01", join(d, "..data"));
      await symlink(join("..data", "config.yaml"), join(d, "config.yaml"));
      return join(d, "config.yaml");
    });
    // What the kubelet does: a new timestamped directory, a temporary link, renamed over ..data.
    await mkdir(join(dir, "..2024_02"));
    await writeFile(join(dir, "..2024_02", "config.yaml"), "routes: [2]\n");
    await symlink("..2024_02", join(dir, "..data_tmp"));
    await rename(join(dir, "..data_tmp"), join(dir, "..data"));
    await rm(join(dir, "..2024_01"), { recursive: true });
    expect(await calledBack(1)).toBe(true);
  });

  it("does not call back when the file is rewritten with the same content or a neighbour changes", async () => {
    const { dir, file, clock, changes, calledBack } = await watched(async (d) => {
      await writeFile(join(d, "config.yaml"), "routes: []\n");
      return join(d, "config.yaml");
    });
    await writeFile(file, "routes: []\n");
    await writeFile(join(dir, "other.txt"), "x");
    await clock.whenPending(); // the watcher has seen the writes: their debounce is running
    clock.advance(DEBOUNCE_MS);
    expect(changes()).toBe(0);
    await writeFile(file, "routes: [3]\n");
    expect(await calledBack(1)).toBe(true);
  });
});
