// SIGTERM on the real `portcullis serve` process: health turns NOT_SERVING at once (grpc Check and
// Watch, /readyz) while checks, on new connections too, and the auth listener keep being answered
// for shutdown.drainSeconds; then new connections are refused, a check still in flight is
// answered, and the process exits 0. A second signal ends the drain early.
// The provider is a loopback IdP whose JWKS can be made slow, which makes a check last long enough
// to still be in flight when the drain ends.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { checkOnce, healthOnce, watchHealth } from "../harness/grpcTestClients.ts";
import { startPortcullisProcess, type PortcullisProcess } from "../harness/startPortcullisProcess.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const AUDIENCE = "drain-api";

interface SlowIdp {
  readonly issuer: string;
  /** Served from the next JWKS request on. */
  keys: JWK[];
  /** Delay of every JWKS answer from now on. */
  jwksDelayMs: number;
  close(): Promise<void>;
}

async function startSlowIdp(keys: JWK[]): Promise<SlowIdp> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/.well-known/openid-configuration") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ issuer: idp.issuer, jwks_uri: `${idp.issuer}/jwks` }));
      return;
    }
    if (path === "/jwks") {
      const body = JSON.stringify({ keys: idp.keys });
      setTimeout(() => res.setHeader("content-type", "application/json").end(body), idp.jwksDelayMs);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const idp: SlowIdp = {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keys,
    jwksDelayMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return idp;
}

async function signingKey(kid: string): Promise<{ kid: string; privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

describe("portcullis serve on SIGTERM", () => {
  let dir: string;
  let idp: SlowIdp;
  let known: Awaited<ReturnType<typeof signingKey>>;
  let rotated: Awaited<ReturnType<typeof signingKey>>;
  let running: PortcullisProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-drain-"));
    known = await signingKey("known");
    rotated = await signingKey("rotated");
    idp = await startSlowIdp([known.jwk]);
  });

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    idp.keys = [known.jwk];
    idp.jwksDelayMs = 0;
  });

  afterAll(async () => {
    await idp?.close();
    if (process.env.PORTCULLIS_KEEP_E2E_LOGS === undefined && dir !== undefined)
      await rm(dir, { recursive: true, force: true });
  });

  const token = (key: { kid: string; privateKey: CryptoKey }) =>
    new SignJWT({ sub: "drain-user", scope: "api.read" })
      .setProtectedHeader({ alg: "RS256", kid: key.kid })
      .setIssuer(idp.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key.privateKey);

  /** `serve` with the given shutdown settings, once its grpc health says SERVING. */
  async function serve(
    name: string,
    shutdown: { drainSeconds: number; graceSeconds: number },
  ): Promise<PortcullisProcess> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      stringify({
        listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
        providers: {
          idp: {
            issuer: idp.issuer,
            audiences: [AUDIENCE],
            allowInsecureHttp: true,
            jwksTimeoutMs: 5000,
            jwksCooldownSeconds: 0,
          },
        },
        routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
        shutdown,
      }),
    );
    const proc = await startPortcullisProcess(file, join(dir, `${name}.log`));
    running = proc;
    expect(await waitUntil(async () => (await healthOnce(proc.ports.grpc)) === "SERVING", 20_000)).toBe(true);
    return proc;
  }

  const readyz = async (proc: PortcullisProcess) => {
    const res = await fetch(`http://127.0.0.1:${proc.ports.admin}/readyz`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  };

  it("reports NOT_SERVING at once yet answers checks on new connections and the auth listener during the drain, then exits 0", async () => {
    const proc = await serve("answers", { drainSeconds: 3, graceSeconds: 2 });
    const watch = watchHealth(proc.ports.grpc);
    try {
      expect(await waitUntil(async () => watch.statuses.includes("SERVING"), 5000, 20)).toBe(true);
      const bearer = { authorization: `Bearer ${await token(known)}` };
      const t0 = Date.now();
      process.kill(proc.pid, "SIGTERM");

      expect(await waitUntil(async () => (await healthOnce(proc.ports.grpc)) === "NOT_SERVING", 1500, 20)).toBe(true);
      expect(await readyz(proc)).toEqual({ status: 503, body: "not ready: shutting down\n" });
      expect(await waitUntil(async () => watch.statuses.includes("NOT_SERVING"), 1500, 20)).toBe(true);
      // Checks keep coming, each on a connection of its own, for the first half of the drain.
      let answered = 0;
      while (Date.now() - t0 < 1500) {
        expect((await checkOnce(proc.ports.grpc, "/api/orders", bearer)).http_response).toBe("ok_response");
        answered += 1;
      }
      expect(answered).toBeGreaterThan(0);
      const auth = await fetch(`http://127.0.0.1:${proc.ports.auth}/oauth2/unknown`, {
        signal: AbortSignal.timeout(2000),
      });
      expect(auth.status).toBe(404);
      expect(watch.ended()).toBe(false);

      expect(await proc.exited).toBe(0);
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(2900);
      expect(elapsed).toBeLessThan(3000 + 2000 + 5000);
      expect(watch.ended()).toBe(true);
      expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING"]);
    } finally {
      watch.close();
    }
    const log = await readFile(proc.logFile, "utf8");
    expect(log).toMatch(/"drainSeconds":3,.*"msg":"shutting down: health NOT_SERVING/);
    expect(log).toMatch(/"cutShort":false,.*"msg":"drain over: refusing new checks/);
    expect(log).toMatch(/"msg":"stopped"/);
  }, 30_000);

  it("answers a check still in flight when the drain ends, refuses new connections after it, then exits 0", async () => {
    const proc = await serve("in-flight", { drainSeconds: 1, graceSeconds: 5 });
    // A token signed with a key the provider does not have yet: its check waits for a JWKS refetch.
    const slowToken = await token(rotated);
    idp.keys = [known.jwk, rotated.jwk];
    idp.jwksDelayMs = 2500;
    const t0 = Date.now();
    process.kill(proc.pid, "SIGTERM");
    const slow = checkOnce(proc.ports.grpc, "/api/orders", { authorization: `Bearer ${slowToken}` }).then((answer) => ({
      answer,
      atMs: Date.now() - t0,
    }));

    const drainOver = async () => (await readFile(proc.logFile, "utf8")).includes('"msg":"drain over');
    expect(await waitUntil(drainOver, 5000, 20)).toBe(true);
    await expect(
      checkOnce(proc.ports.grpc, "/api/orders", { authorization: `Bearer ${await token(known)}` }),
    ).rejects.toMatchObject({ code: 14 });

    const { answer, atMs } = await slow;
    expect(answer.http_response).toBe("ok_response");
    expect(atMs).toBeGreaterThan(1000);
    expect(await proc.exited).toBe(0);
  }, 30_000);

  it("ends the drain at once on a second signal", async () => {
    const proc = await serve("second-signal", { drainSeconds: 60, graceSeconds: 2 });
    process.kill(proc.pid, "SIGTERM");
    expect(await waitUntil(async () => (await healthOnce(proc.ports.grpc)) === "NOT_SERVING", 1500, 20)).toBe(true);
    const t1 = Date.now();
    process.kill(proc.pid, "SIGINT");
    expect(await proc.exited).toBe(0);
    expect(Date.now() - t1).toBeLessThan(5000);
    const log = await readFile(proc.logFile, "utf8");
    expect(log).toMatch(/"signal":"SIGINT".*"msg":"second signal: ending the drain now"/);
    expect(log).toMatch(/"cutShort":true,.*"msg":"drain over/);
  }, 30_000);
});
