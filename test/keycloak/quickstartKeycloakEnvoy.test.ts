// The Keycloak + Envoy quickstart (docs/quickstart-keycloak-envoy.md) run as a reader runs it: its
// `sh step=…` blocks in order, in one bash in an empty directory, with `portcullis` (bin/) and the
// pinned Envoy on the PATH, against this suite's Keycloak. Only the settings step is replaced: this
// Keycloak and its admin, a fresh realm name, free ports. Each step's output is held against the
// page's `text output` block after it, and the calls' answers against what the page says of them.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { keycloakAdminApi } from "../harness/keycloakAdmin.ts";
import { missingOutputLines, pageSteps, readPage, ROOT } from "../harness/markdownBlocks.ts";
import { reservePort } from "../harness/reservePort.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const PAGE = "docs/quickstart-keycloak-envoy.md";
/** The page's steps take seconds each; a realm creation on a loaded machine can take tens. */
const RUN_TIMEOUT_MS = 200_000;

const steps = pageSteps(readPage(PAGE));
const keycloak = inject("keycloak");
const admin = keycloakAdminApi(keycloak);
const realm = `quickstart-${randomBytes(4).toString("hex")}`;

interface PageRun {
  readonly exitCode: number | null;
  readonly stderr: string;
  /** Each step's stdout, by step name. */
  readonly outputs: ReadonlyMap<string, string>;
}

let dir: string;
let bash: number | undefined;
let run: PageRun;

const marker = (name: string) => `::quickstart step ${name}::`;
const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

function splitOutputs(stdout: string): Map<string, string> {
  const lines = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split("\n")) {
    const step = /^::quickstart step (.+)::$/.exec(line);
    if (step === null) current?.push(line);
    else lines.set(step[1]!, (current = []));
  }
  return new Map([...lines].map(([name, text]) => [name, text.join("\n")]));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-quickstart-"));
  const ports = await Promise.all(Array.from({ length: 5 }, () => reservePort()));
  const [envoy, api, check, auth, adminPort] = ports.map((p) => String(p.port)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const settings: Record<string, string> = {
    KEYCLOAK_URL: keycloak.url,
    KEYCLOAK_ADMIN: keycloak.admin.username,
    KEYCLOAK_ADMIN_PASSWORD: keycloak.admin.password,
    REALM: realm,
    ENVOY_PORT: envoy,
    API_PORT: api,
    CHECK_PORT: check,
    AUTH_PORT: auth,
    ADMIN_PORT: adminPort,
  };
  const script = [
    "set -euo pipefail",
    ...Object.entries(settings).map(([name, value]) => `export ${name}=${quote(value)}`),
    // A newline first: curl prints a body without one, and the marker must start a line.
    ...steps.slice(1).flatMap((step) => [`printf '\\n%s\\n' ${quote(marker(step.name))}`, step.script]),
  ].join("\n");
  await writeFile(join(dir, "quickstart.sh"), script);
  const envoyBin = process.env["ENVOY_BIN"];
  if (envoyBin === undefined) throw new Error("ENVOY_BIN is not set: run the suite with bin/test-keycloak");
  await Promise.all(ports.map((p) => p.release()));

  const child = spawn("bash", ["quickstart.sh"], {
    cwd: dir,
    detached: true, // its own process group: the servers the page starts in the background go with it
    env: { ...process.env, PATH: `${join(ROOT, "bin")}:${dirname(envoyBin)}:${process.env["PATH"] ?? ""}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  bash = child.pid;
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      stderr += `\n(the page's steps did not finish within ${RUN_TIMEOUT_MS / 1000} s)`;
      killGroup("SIGKILL");
    }, RUN_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  run = { exitCode, stderr, outputs: splitOutputs(stdout) };
}, RUN_TIMEOUT_MS + 30_000);

function killGroup(signal: NodeJS.Signals): void {
  if (bash === undefined) return;
  try {
    process.kill(-bash, signal);
  } catch {
    // the group is gone already
  }
}

afterAll(async () => {
  killGroup("SIGTERM");
  const gone = await waitUntil(async () => {
    if (bash === undefined) return true;
    try {
      process.kill(-bash, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000);
  if (!gone) killGroup("SIGKILL");
  await admin.request("DELETE", `/${realm}`).catch(() => undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function logTail(file: string): Promise<string> {
  const text = await readFile(join(dir, file), "utf8").catch(() => "(none)");
  return `--- ${file}\n${text.split("\n").slice(-15).join("\n")}`;
}

const output = (step: string): string => run.outputs.get(step) ?? "";

describe("the Keycloak + Envoy quickstart", () => {
  it("has a settings step first and sets nothing there but the settings this test supplies", () => {
    expect(steps[0]?.name).toBe("settings");
    const names = [...(steps[0]?.script ?? "").matchAll(/^export (\w+)=/gm)].map((m) => m[1]);
    expect(names.sort()).toEqual(
      [
        "ADMIN_PORT",
        "API_PORT",
        "AUTH_PORT",
        "CHECK_PORT",
        "ENVOY_PORT",
        "KEYCLOAK_ADMIN",
        "KEYCLOAK_ADMIN_PASSWORD",
        "KEYCLOAK_URL",
        "REALM",
      ].sort(),
    );
    expect(steps.map((s) => s.name)).toEqual([
      "settings",
      "realm",
      "api",
      "config",
      "envoy",
      "start",
      "without-token",
      "with-token",
      "forged",
      "stop",
    ]);
  });

  it("runs every step of the page, as written, to the end", async () => {
    const logs = run.exitCode === 0 ? "" : (await Promise.all(["portcullis.log", "envoy.log"].map(logTail))).join("\n");
    expect({ exitCode: run.exitCode, stderr: run.exitCode === 0 ? "" : `${run.stderr.slice(-3000)}\n${logs}` }).toEqual(
      {
        exitCode: 0,
        stderr: "",
      },
    );
    expect([...run.outputs.keys()]).toEqual(steps.slice(1).map((s) => s.name));
  });

  it.each(steps.filter((s) => s.output !== null).map((s) => [s.name, s.output!] as const))(
    "step %s prints what the page shows",
    (name, expected) => {
      expect(missingOutputLines(expected, output(name)), `the step printed:\n${output(name)}`).toEqual([]);
    },
  );

  it("answers a call without a token with 401 and a Bearer challenge, and the API never sees it", async () => {
    const answer = output("without-token");
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toMatch(/^www-authenticate: Bearer realm="portcullis"\r?$/m);
    const apiLog = await readFile(join(dir, "api.log"), "utf8");
    // The stand-in logs each request it serves: the two calls with the token, not the one without.
    expect(apiLog.split("\n").filter((line) => line.includes('"GET /api/orders HTTP/1.1" 200'))).toHaveLength(2);
  });

  it("lets the client's token through to the API with its identity in headers, and keeps the token at the edge", async () => {
    const received = JSON.parse(output("with-token")) as Record<string, string>;
    const [account] = await admin.request<{ id: string }[]>(
      "GET",
      `/${realm}/users?exact=true&username=service-account-orders-client`,
    );
    expect({
      sub: received["x-user-sub"],
      client: received["x-client-id"],
      authorization: received["authorization"],
    }).toEqual({ sub: account?.id, client: "orders-client", authorization: undefined });
  });

  it("replaces an x-user-sub the caller sent with the verified one", () => {
    expect(output("forged")).toContain('"x-user-sub": "');
    expect(output("forged")).not.toContain('"x-user-sub": "admin"');
  });
});
