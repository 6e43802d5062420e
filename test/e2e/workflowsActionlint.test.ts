// The GitHub Actions workflows, checked offline with the pinned actionlint (built from the Go module
// proxy by bin/provision.sh): expressions, contexts, step outputs, job needs, permissions, reusable
// workflow calls. Run without shellcheck and pyflakes, so every machine checks the same things.
// Needs ACTIONLINT_BIN (bin/test sets it).
import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTempScope } from "../harness/createTempScope.ts";
import type { TempScope } from "../harness/createTempScope.ts";
import { REPO_ROOT } from "../harness/startPortcullisProcess.ts";

const run = promisify(execFile);
const WORKFLOWS = ".github/workflows";

interface Finding {
  readonly filepath: string;
  readonly line: number;
  readonly message: string;
  readonly kind: string;
}

function actionlintBin(): string {
  const bin = process.env["ACTIONLINT_BIN"];
  if (bin === undefined || bin === "") throw new Error("ACTIONLINT_BIN is not set: run the suite with bin/test");
  return bin;
}

/** actionlint's findings for the workflow files of the repository at cwd (exit 1 means findings). */
async function actionlint(cwd: string, files: readonly string[]): Promise<Finding[]> {
  const args = ["-shellcheck=", "-pyflakes=", "-format", "{{json .}}", ...files];
  const { stdout } = await run(actionlintBin(), args, { cwd, timeout: 60_000 }).catch(
    (err: { code?: unknown; stdout: string; stderr: string }) => {
      if (err.code !== 1) throw new Error(`actionlint failed: ${err.stderr}`);
      return err;
    },
  );
  return stdout.trim() === "" ? [] : (JSON.parse(stdout) as Finding[]);
}

let scope: TempScope;
beforeAll(async () => {
  scope = await createTempScope("portcullis-actionlint-");
});
afterAll(async () => {
  await scope?.close();
});

describe("GitHub Actions workflows", () => {
  it("there is a CI workflow and a release workflow", async () => {
    expect((await readdir(join(REPO_ROOT, WORKFLOWS))).sort()).toEqual(
      expect.arrayContaining(["ci.yaml", "release.yaml"]),
    );
  });

  it("every workflow passes actionlint", async () => {
    const files = (await readdir(join(REPO_ROOT, WORKFLOWS))).map((f) => join(WORKFLOWS, f));
    const findings = await actionlint(REPO_ROOT, files);
    expect(findings.map((f) => `${f.filepath}:${f.line}: ${f.message} [${f.kind}]`)).toEqual([]);
  });

  it("actionlint reports a release step reading an output no step sets (the check is live)", async () => {
    const copy = join(scope.dir, "repo");
    await mkdir(join(copy, WORKFLOWS), { recursive: true });
    await cp(join(REPO_ROOT, WORKFLOWS), join(copy, WORKFLOWS), { recursive: true });
    const release = join(copy, WORKFLOWS, "release.yaml");
    const text = await readFile(release, "utf8");
    expect(text).toContain("steps.names.outputs.version");
    await writeFile(release, text.replace("steps.names.outputs.version", "steps.nmaes.outputs.version"));
    const findings = await actionlint(copy, [join(WORKFLOWS, "release.yaml")]);
    expect(findings.map((f) => f.message).join("\n")).toMatch(/nmaes/);
  });
});
