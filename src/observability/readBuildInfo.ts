// What this build of Portcullis is: its version (package.json), the commit it was built from and the
// Node running it, for `portcullis --version` (and a portcullis_build_info metric). The commit comes
// from dist/buildInfo.json (stamped at pack time) when running compiled code, else from git in a checkout.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly node: string;
}

/** Said for a commit nobody recorded (a tarball built outside git, a checkout without git). */
export const UNKNOWN_COMMIT = "unknown";

/** A commit id as git prints it: 7 to 40 hex digits. Anything else is not trusted into a version line. */
export const COMMIT_PATTERN = /^[0-9a-f]{7,40}$/;

/** Short enough to read, long enough to stay unique in any repository this size. */
export const SHORT_COMMIT_LENGTH = 12;

/** The name of the stamp beside the compiled code (dist/buildInfo.json), written by writeBuildInfo.ts. */
export const BUILD_INFO_FILE = "buildInfo.json";

const PACKAGE_ROOT = new URL("../../", import.meta.url);

export function readBuildInfo(): BuildInfo {
  const pkg = JSON.parse(readFileSync(new URL("package.json", PACKAGE_ROOT), "utf8")) as { version: string };
  // This module runs as src/observability/readBuildInfo.ts in a checkout and as
  // dist/observability/readBuildInfo.js once compiled: the stamp only describes the latter.
  const compiled = import.meta.url.endsWith(".js");
  const commit = compiled ? stampedCommit() : commitFromGit(PACKAGE_ROOT);
  return { version: pkg.version, commit, node: process.version };
}

function stampedCommit(): string {
  try {
    const stamp = JSON.parse(readFileSync(new URL(`../${BUILD_INFO_FILE}`, import.meta.url), "utf8")) as {
      commit?: unknown;
    };
    return typeof stamp.commit === "string" && COMMIT_PATTERN.test(stamp.commit) ? stamp.commit : UNKNOWN_COMMIT;
  } catch {
    return UNKNOWN_COMMIT;
  }
}

/** HEAD of the git work tree at dir, shortened; "unknown" without git, outside a work tree or after 2 s. */
export function commitFromGit(dir: URL): string {
  try {
    const out = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 2000,
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return COMMIT_PATTERN.test(out) ? out.slice(0, SHORT_COMMIT_LENGTH) : UNKNOWN_COMMIT;
  } catch {
    return UNKNOWN_COMMIT;
  }
}
