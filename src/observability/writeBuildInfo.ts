// Stamps dist/buildInfo.json with the commit being packed (run by `npm run prepack` after tsc), so an
// installed package or an image, which has no git, still names its commit in `portcullis --version`.
// PORTCULLIS_COMMIT (or GITHUB_SHA in Actions) names it where the build has no .git (a container build).
import { writeFileSync } from "node:fs";
import {
  BUILD_INFO_FILE,
  COMMIT_PATTERN,
  SHORT_COMMIT_LENGTH,
  UNKNOWN_COMMIT,
  commitFromGit,
} from "./readBuildInfo.ts";

function commitToStamp(): string {
  const given = process.env["PORTCULLIS_COMMIT"] || process.env["GITHUB_SHA"];
  if (given !== undefined && given !== "") {
    if (!COMMIT_PATTERN.test(given)) {
      throw new Error(
        `PORTCULLIS_COMMIT must be a commit id (7 to 40 lowercase hex digits), got ${given.length} characters`,
      );
    }
    return given.slice(0, SHORT_COMMIT_LENGTH);
  }
  return commitFromGit(new URL("../../", import.meta.url));
}

const commit = commitToStamp();
writeFileSync(new URL(`../../dist/${BUILD_INFO_FILE}`, import.meta.url), `${JSON.stringify({ commit })}\n`);
process.stderr.write(
  `dist/${BUILD_INFO_FILE}: commit ${commit === UNKNOWN_COMMIT ? "unknown (no git, no PORTCULLIS_COMMIT)" : commit}\n`,
);
