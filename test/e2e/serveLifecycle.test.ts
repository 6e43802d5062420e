// `portcullis serve` as an operator runs it: refuses a bad config before listening, reports
// readiness only once the provider's keys load, logs denials with the request id and never the
// token, and stops gracefully on SIGTERM (health NOT_SERVING first).
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { startDevIdp, type DevIdp } from "../../src/demo/startDevIdp.ts";
import { checkOnce, healthOnce, watchHealth } from "../harness/grpcTestClients.ts";
import { startPortcullisProcess, type PortcullisProcess } from "../harness/startPortcullisProcess.ts";
import { reservePort } from "../harness/reservePort.ts";
import type { ReservedPort } from "../harness/reservePort.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

function runCli(args: string[]) {
  return spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
    encoding: "utf8",
    timeout: 20_000,
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

describe("portcullis serve", () => {
  let dir: string;
  let idpPort: number;
  // Held until the IdP starts: Portcullis meets a resetting placeholder, like an IdP that is down.
  let reserved: ReservedPort | undefined;
  let portcullis: PortcullisProcess;
  let idp: DevIdp | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-serve-"));
    reserved = await reservePort();
    idpPort = reserved.port;
    await writeFile(
      join(dir, "config.yaml"),
      [
        'listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" }',
        "providers:",
        "  idp:",
        `    issuer: http://127.0.0.1:${idpPort}`,
        "    audiences: [lifecycle-api]",
        "    allowInsecureHttp: true",
        "routes:",
        "  - { name: api, match: { path: /api }, auth: required }",
        "shutdown: { graceSeconds: 5 }",
      ].join("\n"),
    );
    // Portcullis starts first, with its IdP not yet listening.
    portcullis = await startPortcullisProcess(join(dir, "config.yaml"), join(dir, "portcullis.log"));
  });

  afterAll(async () => {
    await portcullis?.stop();
    await idp?.close();
    await reserved?.release();
    if (process.env.PORTCULLIS_KEEP_E2E_LOGS === undefined && dir !== undefined)
      await rm(dir, { recursive: true, force: true });
  });

  it("exits 1 before listening when the config has a problem, naming the key path", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "routes:\n  - match: {path: admin}\n    auth: sometimes\n");
    const run = runCli(["serve", "--config", bad]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("routes[0].match.path");
    expect(run.stdout).not.toContain("portcullis ready");
  });

  it("exits 1 and leaves nothing listening when a listener cannot bind", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const taken = (blocker.address() as { port: number }).port;
    const grpcPort = await freePort();
    const file = join(dir, "taken.yaml");
    await writeFile(
      file,
      [
        `listen: { grpc: "127.0.0.1:${grpcPort}", auth: "127.0.0.1:0", admin: "127.0.0.1:${taken}" }`,
        "providers: { idp: { issuer: http://127.0.0.1:9, audiences: [a], allowInsecureHttp: true } }",
        "routes: [ { name: api, match: { path: /api }, auth: required } ]",
      ].join("\n"),
    );
    const run = runCli(["serve", "--config", file]);
    blocker.close();
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toContain("could not start");
    const probe = createServer();
    const free = await new Promise<boolean>((r) => {
      probe.once("error", () => r(false));
      probe.listen(grpcPort, "127.0.0.1", () => probe.close(() => r(true)));
    });
    expect(free).toBe(true);
  });

  it("is live but not ready while the provider cannot be reached, and denies with 503 meanwhile", async () => {
    const admin = `http://127.0.0.1:${portcullis.ports.admin}`;
    expect((await get(`${admin}/healthz`)).status).toBe(200);
    const ready = await get(`${admin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await healthOnce(portcullis.ports.grpc)).toBe("NOT_SERVING");
    expect(ready.body).toContain("idp");
    const { privateKey } = await generateKeyPair("RS256");
    const token = await new SignJWT({ sub: "u" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(`http://127.0.0.1:${idpPort}`)
      .setAudience("lifecycle-api")
      .setExpirationTime("5m")
      .sign(privateKey);
    const res = await checkOnce(
      portcullis.ports.grpc,
      "/api/x",
      { authorization: `Bearer ${token}` },
      "req-before-ready",
    );
    expect(res.denied_response.status.code).toBe("ServiceUnavailable");
  });

  it("becomes ready by itself once the provider's discovery and keys load", async () => {
    const signingKeys = [await createSigningJwk()];
    await reserved?.release();
    idp = await startDevIdp({ signingKeys, port: idpPort, audience: "lifecycle-api" });
    const admin = `http://127.0.0.1:${portcullis.ports.admin}`;
    expect(await waitUntil(async () => (await get(`${admin}/readyz`)).status === 200, 40_000)).toBe(true);
    const metrics = (await get(`${admin}/metrics`)).body;
    expect(metrics).toMatch(/^portcullis_provider_ready\{provider="idp"\} 1$/m);
    expect(await waitUntil(async () => (await healthOnce(portcullis.ports.grpc)) === "SERVING", 5000)).toBe(true);
  }, 60_000);

  it("logs one line per denial with Envoy's request id, and never the token", async () => {
    const token = await idp!.clientCredentialsToken();
    const forged = `${token.slice(0, -4)}AAAA`;
    const ok = await checkOnce(portcullis.ports.grpc, "/api/x", { authorization: `Bearer ${token}` }, "req-allowed");
    const denied = await checkOnce(
      portcullis.ports.grpc,
      "/api/x",
      { authorization: `Bearer ${forged}` },
      "req-forged-7f3a",
    );
    expect(ok.http_response).toBe("ok_response");
    expect(denied.denied_response.status.code).toBe("Unauthorized");
    expect(
      await waitUntil(async () => (await readFile(portcullis.logFile, "utf8")).includes("req-forged-7f3a"), 5000),
    ).toBe(true);
    const log = await readFile(portcullis.logFile, "utf8");
    const forgedLines = log.split("\n").filter((l) => l.includes("req-forged-7f3a"));
    expect(forgedLines).toHaveLength(1);
    expect(log).not.toContain("req-allowed");
    expect(JSON.parse(forgedLines[0] as string)).toMatchObject({
      level: "info",
      msg: "request denied",
      code: "signature_invalid",
      route: "api",
    });
    expect(log).not.toContain(token.split(".")[2]);
    expect(log).not.toContain(forged.split(".")[2]);
  });

  it("serves no admin API unless admin.api is enabled: /admin/ paths answer 404 whatever the method or token", async () => {
    const admin = `http://127.0.0.1:${portcullis.ports.admin}`;
    const headers = { authorization: `Bearer ${"x".repeat(40)}` };
    for (const [method, path] of [
      ["GET", "/admin/sessions?sub=alice"],
      ["DELETE", "/admin/sessions/idp.abcdefghijklmnop"],
      ["POST", "/admin/users/revoke"],
    ] as const) {
      const res = await fetch(`${admin}${path}`, { method, headers, signal: AbortSignal.timeout(5000) });
      expect([method, res.status]).toEqual([method, 404]);
      await res.arrayBuffer();
    }
    const cli = spawnSync(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", MAIN, "sessions", "list", "--sub", "alice", "--admin", admin],
      { encoding: "utf8", timeout: 20_000, env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: "x".repeat(40) } },
    );
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain("404");
  });

  it("on SIGTERM reports NOT_SERVING to a health Watch opened before, finishes and exits 0", async () => {
    const watch = watchHealth(portcullis.ports.grpc);
    try {
      expect(await waitUntil(async () => watch.statuses.includes("SERVING"), 10_000)).toBe(true);
      const code = await portcullis.stop();
      expect(code).toBe(0);
      expect(await waitUntil(async () => watch.ended(), 5000)).toBe(true);
      expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING"]);
    } finally {
      watch.close();
    }
    const log = await readFile(portcullis.logFile, "utf8");
    expect(log).toContain("shutting down");
    expect(log).toMatch(/"msg":"stopped"/);
  });
});

describe("portcullis command line", () => {
  it("prints its version", () => {
    const run = runCli(["--version"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^portcullis \d+\.\d+\.\d+/);
  });

  it("prints help naming every command", () => {
    const run = runCli(["--help"]);
    expect(run.status).toBe(0);
    for (const cmd of ["serve", "check-config", "demo", "demo token"]) expect(run.stdout).toContain(cmd);
  });

  it("refuses a mistyped serve flag with exit 1 instead of ignoring it", () => {
    const run = runCli(["serve", "--conifg", "x.yaml"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('unknown argument "--conifg"');
    expect(run.stdout).not.toContain("portcullis ready");
  });

  it("rejects an unknown command with exit 2", () => {
    const run = runCli(["launch"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("unknown command");
  });
});
