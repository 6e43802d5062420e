// A runnable copy of this tree with src/oidc as it was at another commit (the rest of src/, proto/
// and package.json as here), under .cache/bench: what the first-seen benchmarks compare against,
// so a before/after comes from one run and differs only in the token verification code.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The copy's root directory (it resolves node_modules from this checkout). */
export function extractOidcBaseline(ref: string): string {
  const commit = execFileSync("git", ["rev-parse", "--short", ref], { cwd: REPO, encoding: "utf8" }).trim();
  const dir = `${REPO}.cache/bench/first-seen-${commit}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(`${REPO}src`, `${dir}/src`, { recursive: true });
  cpSync(`${REPO}proto`, `${dir}/proto`, { recursive: true });
  cpSync(`${REPO}package.json`, `${dir}/package.json`);
  rmSync(`${dir}/src/oidc`, { recursive: true });
  execFileSync("sh", ["-c", `git archive ${commit} src/oidc | tar -x -C ${JSON.stringify(dir)}`], { cwd: REPO });
  return dir;
}
