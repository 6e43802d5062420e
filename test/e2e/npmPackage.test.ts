// The npm package as a user gets it: `npm pack` of this checkout installed into a fresh project
// (offline, from npm's cache), then the installed `portcullis` run with the machine's Node 24 and
// nothing else from the checkout: its version line, check-config on a shipped example, the demo's
// missing parts named, and `serve` behind the real Envoy and the dev IdP deciding bearer requests.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { createTempScope } from "../harness/createTempScope.ts";
import type { TempScope } from "../harness/createTempScope.ts";
import { installPackedPortcullis } from "../harness/installPackedPortcullis.ts";
import type { InstalledPackage } from "../harness/installPackedPortcullis.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";
import { REPO_ROOT } from "../harness/startPortcullisProcess.ts";

const run = promisify(execFile);

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let scope: TempScope;
let installed: InstalledPackage;
let commit: string;
let version: string;

/** Runs the installed command in its project, as `npx portcullis ...` would. */
async function portcullis(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(installed.bin, [...args], {
      cwd: installed.projectDir,
      env: { ...installed.env, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

beforeAll(async () => {
  scope = await createTempScope("portcullis-npm-package-");
  commit = (await run("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT })).stdout.trim();
  version = (JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
  installed = await installPackedPortcullis(scope.dir, commit);
}, 480_000);

afterAll(async () => {
  await scope?.close();
});

describe("the npm tarball", () => {
  it("holds compiled JavaScript, the protos, the Envoy configs, LICENSE and CHANGELOG, and no TypeScript", () => {
    expect(installed.entries).toContain("package/dist/cli/main.js");
    expect(installed.entries).toContain("package/dist/buildInfo.json");
    expect(installed.entries).toContain("package/proto/envoy/service/auth/v3/external_auth.proto");
    expect(installed.entries).toContain("package/envoy/demo.yaml");
    for (const file of ["LICENSE", "CHANGELOG.md", "README.md", "bin/portcullis"]) {
      expect(installed.entries).toContain(`package/${file}`);
    }
    expect(installed.entries.filter((e) => e.endsWith(".ts") || e.startsWith("package/src/"))).toEqual([]);
  });

  it("needs no provisioning script and does not install the demo's identity provider", async () => {
    expect(installed.entries).not.toContain("package/bin/provision.sh");
    await expect(readFile(join(installed.projectDir, "node_modules/oidc-provider/package.json"))).rejects.toThrow();
  });
});

describe("the installed portcullis", () => {
  it("prints its version, the commit it was packed from and the Node running it", async () => {
    const result = await portcullis(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`portcullis ${version} (commit ${commit.slice(0, 12)}) node ${process.version}\n`);
  });

  it("checks a shipped example config: exit 0 with its secrets given, 1 with each missing one named by key path", async () => {
    const example = join(REPO_ROOT, "examples/idps/keycloak.yaml");
    const secrets = { KEYCLOAK_CLIENT_SECRET: "not-a-real-secret", SESSION_KEY: randomBytes(32).toString("base64url") };
    const valid = await portcullis(["check-config", "--config", example], secrets);
    expect(valid.code).toBe(0);
    const invalid = await portcullis(["check-config", "--config", example], { SESSION_KEY: secrets.SESSION_KEY });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("providers.keycloak.clientSecret");
  });

  it("says which package the demo needs instead of failing on a missing module", async () => {
    const result = await portcullis(["demo"], { ENVOY_BIN: process.env["ENVOY_BIN"] ?? "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/npm install 'oidc-provider@[^']+'/);
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|at .*\.js:\d+/);
  });
});

describe("portcullis serve from the installed package, behind the real Envoy", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ portcullisCommand: [installed.bin], portcullisEnv: { PATH: installed.env.PATH ?? "" } });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  it("runs the compiled dist/ of the installed package", async () => {
    const cmdline = (await readFile(`/proc/${stack.pids.portcullis}/cmdline`, "utf8")).split("\0");
    const main = join(installed.projectDir, "node_modules/portcullis/dist/cli/main.js");
    expect(cmdline).toContain(main);
    expect(cmdline.some((arg) => arg.endsWith(".ts"))).toBe(false);
  });

  it("lets a user's valid token through with the user's identity headers", async () => {
    const token = await stack.idp().mintUserToken("alice");
    const res = await stack.request("/api/things", {
      headers: { authorization: `Bearer ${token}`, "x-user-sub": "forged" },
    });
    expect(res.status).toBe(200);
    const seen = stack.upstream.requests().at(-1);
    expect(seen?.headers["x-user-sub"]).toBe("alice");
    expect(seen?.headers["x-user-email"]).toBe("alice@example.com");
  });

  it("refuses a request without a token with 401 and a Bearer challenge, and a forged token with invalid_token", async () => {
    const none = await stack.request("/api/things");
    expect(none.status).toBe(401);
    expect(String(none.headers["www-authenticate"])).toMatch(/^Bearer\b/);
    const forged = await stack.signToken({}, {}, await createSigningJwk());
    const refused = await stack.request("/api/things", { headers: { authorization: `Bearer ${forged}` } });
    expect(refused.status).toBe(401);
    expect(String(refused.headers["www-authenticate"])).toContain('error="invalid_token"');
  });
});
