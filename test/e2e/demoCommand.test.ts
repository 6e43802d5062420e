// `portcullis demo` and `demo token` as a user runs them, on ephemeral ports so the test never
// collides with a demo running on the machine: ready, 401 without a token, 200 with the token
// `demo token` prints, a named error when a port is taken, and a certificate made once.

import { execFile } from "node:child_process";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { startDemo } from "../../src/demo/startDemo.ts";
import type { RunningDemo } from "../../src/demo/startDemo.ts";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const EPHEMERAL = { https: 0, idp: 0, upstream: 0, grpc: 0, auth: 0, admin: 0 };

let dir: string;
let demo: RunningDemo;
let ca: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-demo-"));
  demo = await startDemo({ dir, ports: EPHEMERAL });
  ca = (await ensureDemoCertificate(dir)).certPem;
  // The demo's Portcullis loads the IdP's keys in the background; a token sent before that would
  // be answered 503, which is not what these tests are about.
  const ready = await waitUntil(async () => {
    const res = await fetch(`${demo.adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  }, 30_000);
  if (!ready) throw new Error(`the demo's Portcullis was not ready within 30 s (${demo.adminUrl}/readyz)`);
});

afterAll(async () => {
  await demo?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `portcullis demo token ARGS` against `demoDir`; `code` is null when it was killed (timeout). */
async function demoToken(
  args: string[],
  demoDir = dir,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", MAIN, "demo", "token", ...args],
      {
        env: { ...process.env, PORTCULLIS_DEMO_DIR: demoDir },
        timeout: 20_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : null, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const get = (path: string, token?: string) =>
  httpsRequest({
    port: Number(new URL(demo.entryUrl).port),
    path,
    ca,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });

describe("portcullis demo", () => {
  it("answers a public path with the upstream's echo of the request", async () => {
    const res = await get("/public/hello");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ method: "GET", path: "/public/hello" });
  });

  it("sends a browser opening the root to the demo IdP's login", async () => {
    const res = await httpsRequest({
      port: Number(new URL(demo.entryUrl).port),
      path: "/",
      ca,
      headers: { accept: "text/html" },
    });
    expect(res.status).toBe(302);
    expect(String(res.headers["location"])).toMatch(new RegExp(`^${demo.issuer}/auth\\?.*code_challenge_method=S256`));
  });

  it("refuses /api without a token with 401 and a Bearer challenge", async () => {
    const res = await get("/api/hello");
    expect(res.status).toBe(401);
    expect(String(res.headers["www-authenticate"])).toMatch(/^Bearer/);
  });

  it("lets through /api with the token `demo token` prints, and the upstream sees the client as x-client-id", async () => {
    const out = await demoToken([]);
    expect(out.code).toBe(0);
    const token = out.stdout.trim().split("\n").at(-1) as string;
    const res = await get("/api/hello", token);
    expect(res.status).toBe(200);
    expect(at(res.json, "headers", "x-client-id")).toBe("demo-cli");
    expect(at(res.json, "headers", "x-user-sub")).toBeUndefined();
  });

  it("`demo token --user alice` gives a token whose roles reach the upstream", async () => {
    const out = await demoToken(["--user", "alice", "--scope", "api.read"]);
    expect(out.code).toBe(0);
    const res = await get("/api/hello", out.stdout.trim());
    expect(res.status).toBe(200);
    expect(at(res.json, "headers", "x-user-sub")).toBe("alice");
    expect(String(at(res.json, "headers", "x-user-roles"))).toContain("admin");
  });

  it("gives /orders's upstream a token exchanged for demo-orders with the caller's sub, never the caller's token", async () => {
    const out = await demoToken(["--user", "alice"]);
    expect(out.code).toBe(0);
    const caller = out.stdout.trim();
    const res = await get("/orders/1", caller);
    expect(res.status).toBe(200);
    const authorization = String(at(res.json, "headers", "authorization"));
    expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(authorization).not.toContain(caller);
    const claims = JSON.parse(Buffer.from(authorization.split(".")[1]!, "base64url").toString()) as Record<
      string,
      unknown
    >;
    expect(claims["sub"]).toBe("alice");
    expect([claims["aud"]].flat()).toEqual(["demo-orders"]);
  });

  it("`demo token` for an unknown user fails with a message and exit 1, printing no token", async () => {
    const out = await demoToken(["--user", "mallory"]);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toMatch(/mallory/);
  });

  it("keeps its state file readable by the owner only", async () => {
    expect((await stat(join(demo.runDir, "state.json"))).mode & 0o077).toBe(0);
  });

  it("says which port is taken when it cannot start", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      await expect(startDemo({ dir: join(dir, "second"), ports: { ...EPHEMERAL, upstream: port } })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${port} \\(upstream\\) is already in use`),
      );
    } finally {
      blocker.close();
    }
  });

  it("reuses the certificate it made on the first run", async () => {
    const before = await stat(join(dir, "localhost.crt"));
    await ensureDemoCertificate(dir);
    expect((await stat(join(dir, "localhost.crt"))).mtimeMs).toBe(before.mtimeMs);
  });
});

describe("portcullis demo token without a running demo", () => {
  it("explains that the demo is not running and exits 1", async () => {
    const empty = await mkdtemp(join(tmpdir(), "portcullis-nodemo-"));
    try {
      const out = await demoToken([], empty);
      expect(out.code).toBe(1);
      expect(out.stdout).toBe("");
      expect(out.stderr).toMatch(/demo is not running/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

function at(value: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
}
