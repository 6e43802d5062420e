// bin/portcullis in an installed package (compiled dist/, no lockfile beside it): it runs dist/ with the
// machine's node and its memory flags, installs nothing and writes nothing (no cache under HOME, no
// npm, no Envoy download), and refuses a Node older than 22.12 with words a user can act on.
// Runs a copy of bin/portcullis in a stand-in package whose dist/cli/main.js prints what it was
// given; PATH holds only bash and the three tools the script uses, a stand-in `node` and an `npm`
// that always fails (the machine's own node, perhaps too old, stays out of reach).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempScope } from "../harness/createTempScope.ts";
import type { TempScope } from "../harness/createTempScope.ts";
import { REPO_ROOT } from "../harness/startPortcullisProcess.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let scope: TempScope;
let pkg: string;
let tools: string;
let home: string;

/** A `node` on PATH: the Node running the tests, or one that answers --version with `version` only. */
async function putNode(version?: string): Promise<void> {
  const script =
    version === undefined
      ? `#!/bin/sh\nexec "${process.execPath}" "$@"\n`
      : `#!/bin/sh\n[ "$1" = --version ] && echo ${version} && exit 0\necho "this node must not run a program" >&2\nexit 1\n`;
  await writeFile(join(tools, "node"), script);
  await chmod(join(tools, "node"), 0o755);
}

function runInstalled(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const fullEnv: NodeJS.ProcessEnv = { PATH: tools, HOME: home, ...env };
    execFile(join(pkg, "bin/portcullis"), [...args], { env: fullEnv, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeEach(async () => {
  scope = await createTempScope("portcullis-installed-");
  pkg = join(scope.dir, "node_modules/portcullis");
  tools = join(scope.dir, "tools");
  home = join(scope.dir, "home");
  for (const dir of [join(pkg, "bin"), join(pkg, "dist/cli"), tools, home]) await mkdir(dir, { recursive: true });
  await copyFile(join(REPO_ROOT, "bin/portcullis"), join(pkg, "bin/portcullis"));
  await chmod(join(pkg, "bin/portcullis"), 0o755);
  await writeFile(
    join(pkg, "dist/cli/main.js"),
    "console.log(JSON.stringify({ args: process.argv.slice(2), execArgv: process.execArgv }));\n",
  );
  for (const tool of ["bash", "dirname", "readlink", "env"]) {
    const found = ["/usr/bin", "/bin"].map((dir) => join(dir, tool)).find((path) => existsSync(path));
    if (found === undefined) throw new Error(`no ${tool} in /usr/bin or /bin`);
    await symlink(found, join(tools, tool));
  }
  await writeFile(join(tools, "npm"), '#!/bin/sh\necho "npm must not run" >&2\nexit 1\n');
  await chmod(join(tools, "npm"), 0o755);
});
afterEach(() => scope.close());

describe("bin/portcullis of an installed package", () => {
  it("runs dist/cli/main.js with the node on PATH and the memory flags, writing nothing under HOME", async () => {
    await putNode();
    const run = await runInstalled(["serve", "--config", "x.yaml"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      args: ["serve", "--config", "x.yaml"],
      execArgv: ["--max-semi-space-size=16", "--heap-growing-percent=150"],
    });
    expect(await readdir(home)).toEqual([]);
  });

  it("runs the demo without provisioning Envoy (the demo itself names what is missing)", async () => {
    await putNode();
    const run = await runInstalled(["demo"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ args: ["demo"] });
    expect(run.stderr).toBe("");
    expect(await readdir(home)).toEqual([]);
  });

  it("refuses a Node older than 22.12, naming the one it found", async () => {
    await putNode("v20.20.2");
    const run = await runInstalled(["--version"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      "portcullis: needs Node.js 22.12 or newer (24 recommended) on the PATH or in PORTCULLIS_NODE; found v20.20.2\n",
    );
  });

  it("says so when there is no node at all", async () => {
    const run = await runInstalled(["--version"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("needs Node.js 22.12 or newer");
    expect(run.stderr).toContain("found none");
  });

  it("takes PORTCULLIS_NODE over the node on PATH", async () => {
    await putNode("v20.20.2");
    const run = await runInstalled(["--version"], { PORTCULLIS_NODE: process.execPath });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ args: ["--version"] });
  });
});
