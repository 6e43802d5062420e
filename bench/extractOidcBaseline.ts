// A runnable copy of this tree with src/oidc as it was at another commit (the rest of src/, proto/
// and package.json as here), under .cache/bench: what the first-seen benchmarks compare against,
// so a before/after comes from one run and differs only in the token verification code.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/**
 * The copy's root directory (it resolves node_modules from this checkout). `dirs`: the folders taken
 * as they were at `ref` (default src/oidc; e.g. src/identity and src/core too when the first-seen
 * path's changes reach them).
 */
export function extractOidcBaseline(ref: string, dirs: readonly string[] = ["src/oidc"]): string {
  const commit = execFileSync("git", ["rev-parse", "--short", ref], { cwd: REPO, encoding: "utf8" }).trim();
  const dir = `${REPO}.cache/bench/first-seen-${commit}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(`${REPO}src`, `${dir}/src`, { recursive: true });
  cpSync(`${REPO}proto`, `${dir}/proto`, { recursive: true });
  cpSync(`${REPO}package.json`, `${dir}/package.json`);
  for (const sub of dirs) {
    if (!/^src\/[a-z]+$/.test(sub)) throw new Error(`--baseline-dirs: ${sub} is not a folder of src/ (e.g. src/oidc)`);
    rmSync(`${dir}/${sub}`, { recursive: true });
    execFileSync("sh", ["-c", `git archive ${commit} ${sub} | tar -x -C ${JSON.stringify(dir)}`], { cwd: REPO });
  }
  return dir;
}
