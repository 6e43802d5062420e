// Builds the npm package as a release does (`npm pack`, which runs prepack: tsc to dist/ and the
// commit stamp) from a copy of the checkout's package inputs, then installs the tarball into a fresh
// project offline: the project's lockfile is the checkout's runtime tree (dev-only packages left
// out), so `npm ci --offline` takes every dependency from npm's cache, the versions the suite tested.
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./startPortcullisProcess.ts";

const run = promisify(execFile);
// tsc of src/ dominates: ~35 s on a loaded 2-core machine.
const PACK_TIMEOUT_MS = 240_000;

export interface InstalledPackage {
  /** The tarball `npm pack` wrote. */
  readonly tarball: string;
  /** The tarball's entries, e.g. `package/dist/cli/main.js`. */
  readonly entries: readonly string[];
  /** The project it was installed into (node_modules/portcullis, node_modules/.bin/portcullis). */
  readonly projectDir: string;
  /** The installed command, as `npx portcullis` would run it. */
  readonly bin: string;
  /** An environment whose PATH has the Node running the tests (24) first, as the machine's node. */
  readonly env: NodeJS.ProcessEnv;
}

interface LockEntry {
  readonly dev?: boolean;
  readonly [key: string]: unknown;
}

interface Lockfile {
  readonly packages: Record<string, LockEntry>;
}

/** Packs and installs into dir/{source,out,project}; `commit` is stamped as PORTCULLIS_COMMIT. */
export async function installPackedPortcullis(dir: string, commit: string): Promise<InstalledPackage> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as {
    name: string;
    version: string;
    files: readonly string[];
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    npm_config_loglevel: "error",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
  // What the package lists plus what prepack compiles from; node_modules for tsc.
  const source = join(dir, "source");
  await mkdir(source);
  for (const entry of [...pkg.files, "package.json", "src", "tsconfig.json", "tsconfig.build.json"]) {
    if (entry === "dist") continue;
    await cp(join(REPO_ROOT, entry), join(source, entry), { recursive: true });
  }
  await symlink(join(REPO_ROOT, "node_modules"), join(source, "node_modules"));
  const out = join(dir, "out");
  await mkdir(out);
  const packed = await run("npm", ["pack", "--json", "--pack-destination", out], {
    cwd: source,
    env: { ...env, PORTCULLIS_COMMIT: commit },
    timeout: PACK_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  // Anything prepack prints to stdout comes before npm's JSON.
  const report = JSON.parse(packed.stdout.slice(Math.max(0, packed.stdout.search(/^\[/m)))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const tarball = join(out, report[0]!.filename);
  const entries = report[0]!.files.map((f) => `package/${f.path}`);

  const projectDir = join(dir, "project");
  await mkdir(projectDir);
  await writeProject(projectDir, pkg, tarball);
  await run("npm", ["ci", "--offline"], { cwd: projectDir, env, timeout: PACK_TIMEOUT_MS });
  return { tarball, entries, projectDir, bin: join(projectDir, "node_modules/.bin/portcullis"), env };
}

/** A project depending on the tarball, locked to the checkout's runtime tree. */
async function writeProject(
  projectDir: string,
  pkg: { readonly name: string; readonly version: string },
  tarball: string,
): Promise<void> {
  const lock = JSON.parse(await readFile(join(REPO_ROOT, "package-lock.json"), "utf8")) as Lockfile;
  const root = lock.packages[""] ?? {};
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    "": { name: "installed-portcullis", dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      dependencies: root["dependencies"],
      bin: root["bin"],
      engines: root["engines"],
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== "" && entry.dev !== true) packages[path] = entry;
  }
  const manifest = { name: "installed-portcullis", private: true, dependencies: { [pkg.name]: spec } };
  await writeFile(join(projectDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const projectLock = { name: "installed-portcullis", lockfileVersion: 3, requires: true, packages };
  await writeFile(join(projectDir, "package-lock.json"), `${JSON.stringify(projectLock, null, 2)}\n`);
}
