// Two `portcullis demo` processes side by side, as a user starts them: one with only --port (its
// other listeners take free ports), one with every listener's port given. Each prints URLs on its
// own ports, `demo token --port N` reaches the right one, and each lets its own token through.

import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { reservePort } from "../harness/reservePort.ts";
import type { ReservedPort } from "../harness/reservePort.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const NODE_ARGS = ["--disable-warning=ExperimentalWarning", MAIN];

interface DemoProcess {
  readonly child: ChildProcess;
  readonly httpsPort: number;
  output(): string;
  readonly exited: Promise<number | null>;
}

let dir: string;
let ca: string;
let env: NodeJS.ProcessEnv;
let first: DemoProcess;
let second: DemoProcess;
/** The second demo's listeners, each given on the command line. */
let secondPorts: Record<"idp" | "upstream" | "grpc" | "auth" | "admin", number>;

/** Starts `portcullis demo ARGS` once its HTTPS port's placeholder is let go; resolves when it is ready. */
async function startDemoProcess(https: ReservedPort, held: ReservedPort[], args: string[]): Promise<DemoProcess> {
  for (const port of [https, ...held]) await port.release();
  const child = spawn(process.execPath, [...NODE_ARGS, "demo", "--port", String(https.port), ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const demo = { child, httpsPort: https.port, output: () => text, exited };
  const ready = await Promise.race([
    waitUntil(async () => text.includes("Press Ctrl-C to stop."), 60_000),
    exited.then(() => false),
  ]);
  if (!ready) throw new Error(`the demo on port ${https.port} did not start:\n${text}`);
  return demo;
}

async function stopDemo(demo: DemoProcess | undefined): Promise<number | null | undefined> {
  if (demo === undefined) return undefined;
  if (demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill("SIGTERM");
  const timer = setTimeout(() => demo.child.kill("SIGKILL"), 20_000);
  const code = await demo.exited;
  clearTimeout(timer);
  return code;
}

async function demoToken(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...NODE_ARGS, "demo", "token", ...args], {
      env,
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : null, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const get = (demo: DemoProcess, path: string, token: string) =>
  httpsRequest({ port: demo.httpsPort, path, ca, headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-demos-"));
  env = { ...process.env, PORTCULLIS_DEMO_DIR: dir };
  // Made once before either demo starts, so the two never write it at the same time.
  ca = (await ensureDemoCertificate(dir)).certPem;
  const [https1, https2, idp, upstream, grpc, auth, admin] = (await Promise.all(
    Array.from({ length: 7 }, () => reservePort()),
  )) as [ReservedPort, ReservedPort, ReservedPort, ReservedPort, ReservedPort, ReservedPort, ReservedPort];
  secondPorts = { idp: idp.port, upstream: upstream.port, grpc: grpc.port, auth: auth.port, admin: admin.port };
  try {
    first = await startDemoProcess(https1, [], []);
    second = await startDemoProcess(
      https2,
      [idp, upstream, grpc, auth, admin],
      [
        "--idp-port",
        String(idp.port),
        `--upstream-port=${upstream.port}`,
        "--grpc-port",
        String(grpc.port),
        "--auth-port",
        String(auth.port),
        "--admin-port",
        String(admin.port),
      ],
    );
  } finally {
    for (const port of [https1, https2, idp, upstream, grpc, auth, admin]) await port.release();
  }
}, 150_000);

afterAll(async () => {
  await Promise.all([stopDemo(first), stopDemo(second)]);
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("two demos side by side", () => {
  it("print URLs on the ports each was given", () => {
    expect(first.output()).toContain(`Portcullis demo ready: https://localhost:${first.httpsPort}`);
    expect(first.output()).toContain(`demo token --port ${first.httpsPort}`);
    const text = second.output();
    expect(text).toContain(`Portcullis demo ready: https://localhost:${second.httpsPort}`);
    expect(text).toContain(`http://127.0.0.1:${secondPorts.idp}`);
    expect(text).toContain(`http://127.0.0.1:${secondPorts.upstream}`);
    expect(text).toContain(`http://127.0.0.1:${secondPorts.admin}/metrics`);
    expect(text).toContain(join(dir, String(second.httpsPort), "portcullis.log"));
  });

  it("each lets through a token `demo token --port N` got from its own IdP, and refuses the other's", async () => {
    const tokens = await Promise.all(
      [first, second].map(async (demo) => {
        const out = await demoToken(["--port", String(demo.httpsPort)]);
        expect(out.code, out.stderr).toBe(0);
        return out.stdout.trim().split("\n").at(-1) as string;
      }),
    );
    const [firstToken, secondToken] = tokens as [string, string];
    const firstOwn = await get(first, "/api/x", firstToken);
    expect(firstOwn.status).toBe(200);
    expect(firstOwn.json).toMatchObject({ path: "/api/x", headers: { "x-client-id": "demo-cli" } });
    expect((await get(second, "/api/x", secondToken)).status).toBe(200);
    expect((await get(second, "/api/x", firstToken)).status).toBe(401);
  });

  it("`demo token --user` reaches the demo named by --port", async () => {
    const out = await demoToken([`--port=${second.httpsPort}`, "--user", "alice"]);
    expect(out.code, out.stderr).toBe(0);
    const res = await get(second, "/admin/x", out.stdout.trim());
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ headers: { "x-user-sub": "alice" } });
  });

  it("`demo token` without --port asks which demo when neither is on the default port", async () => {
    const out = await demoToken([]);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain(`several demos are running (HTTPS ports `);
    expect(out.stderr).toContain(String(first.httpsPort));
    expect(out.stderr).toContain(String(second.httpsPort));
  });

  it("`demo token --port` for a port no demo runs on says so", async () => {
    const out = await demoToken(["--port", "1"]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/no demo is running on port 1 \(running: /);
  });

  it("keep each demo's state file readable by the owner only, in a directory named after its port", async () => {
    for (const demo of [first, second])
      expect((await stat(join(dir, String(demo.httpsPort), "state.json"))).mode & 0o077).toBe(0);
  });
});

describe("portcullis demo port flags", () => {
  it("refuses a port that is not a number 1-65535 with exit 2 and names the flag", async () => {
    const out = await run(process.execPath, [...NODE_ARGS, "demo", "--port", "x"], { env, timeout: 20_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? "" }),
    );
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`--port: must be 1-65535 (got "x")`);
  });
});

describe("a demo stopped with SIGTERM", () => {
  it("exits 0 and removes its state file", async () => {
    const port = first.httpsPort;
    expect(await stopDemo(first)).toBe(0);
    await expect(stat(join(dir, String(port), "state.json"))).rejects.toThrow(/ENOENT/);
    const out = await demoToken([]);
    expect(out.code, out.stderr).toBe(0);
    expect((await get(second, "/api/x", out.stdout.trim())).status).toBe(200);
  });
});
