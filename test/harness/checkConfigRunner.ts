// `portcullis check-config` run in-process for tests: its exit code and what it wrote, and config files
// written into a directory of the test file's own (made before its tests, removed after).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";

export interface CheckConfigRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CheckConfigRunner {
  run(argv: string[], env?: NodeJS.ProcessEnv): Promise<CheckConfigRun>;
  /** Writes `yaml` as `name` in the test file's directory and returns its path. */
  file(name: string, yaml: string): string;
  /** Where `name` is (or would be) in that directory. */
  pathOf(name: string): string;
}

/** Call at a test file's top level: registers the directory's beforeAll/afterAll. */
export function checkConfigRunner(prefix: string): CheckConfigRunner {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    async run(argv, env = {}) {
      let stdout = "";
      let stderr = "";
      const code = await runCheckConfig(argv, {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        env,
      });
      return { code, stdout, stderr };
    },
    pathOf: (name) => join(dir, name),
    file(name, yaml) {
      const path = join(dir, name);
      writeFileSync(path, yaml);
      return path;
    },
  };
}
