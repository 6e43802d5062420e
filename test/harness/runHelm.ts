// Runs the suite's helm (HELM_BIN, which bin/test sets) in the checkout with its cache, config and data
// homes under a test's own directory, so tests never read or write the user's helm state. Resolves stdout;
// a non-zero exit rejects with helm's stderr in the error.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;

export async function runHelm(homeDir: string, args: readonly string[]): Promise<string> {
  const bin = process.env["HELM_BIN"];
  if (bin === undefined || bin === "") throw new Error("HELM_BIN is not set: run the suite with bin/test");
  const { stdout } = await run(bin, [...args], {
    cwd: ROOT,
    timeout: 60_000,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(homeDir, "c"),
      HELM_CONFIG_HOME: join(homeDir, "g"),
      HELM_DATA_HOME: join(homeDir, "d"),
    },
  });
  return stdout;
}
