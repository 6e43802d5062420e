// `serve --watch` beyond the config file: a file the config reads (the API keys file) is followed in
// its own directory, a Kubernetes Secret update (its `..data` symlink swapped) calls back once, a
// file no longer followed does not, and the config file stays watched whatever is followed.
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { filesReadByConfig } from "../../src/app/filesReadByConfig.ts";
import { watchConfigFile } from "../../src/app/watchConfigFile.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const DEBOUNCE_MS = 50;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-follow-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A config directory and a Secret-like keys directory (`api-keys.yaml` → `..data/api-keys.yaml`). */
async function watchedPair() {
  const configDir = await tempDir();
  const secretDir = await tempDir();
  const configFile = join(configDir, "portcullis.yaml");
  await writeFile(configFile, "routes: []\n");
  await mkdir(join(secretDir, "..2026_01"));
  await writeFile(join(secretDir, "..2026_01", "api-keys.yaml"), "[]\n");
  await symlink("..2026_01", join(secretDir, "..data"));
  await symlink(join("..data", "api-keys.yaml"), join(secretDir, "api-keys.yaml"));
  let changes = 0;
  const clock = createManualClock();
  const watcher = watchConfigFile(configFile, () => (changes += 1), { debounceMs: DEBOUNCE_MS, clock });
  cleanups.push(() => watcher.close());
  // File events arrive in real time, the debounce runs on the manual clock: each poll lets it run out.
  const calledBack = (times: number) =>
    waitUntil(
      async () => {
        clock.advance(DEBOUNCE_MS);
        return changes === times;
      },
      5000,
      10,
    );
  /** What the kubelet does on a Secret update: a new directory, a temporary link renamed over ..data. */
  const swapSecret = async (version: string, text: string) => {
    await mkdir(join(secretDir, version));
    await writeFile(join(secretDir, version, "api-keys.yaml"), text);
    await symlink(version, join(secretDir, "..data_tmp"));
    await rename(join(secretDir, "..data_tmp"), join(secretDir, "..data"));
  };
  return {
    configFile,
    keysFile: join(secretDir, "api-keys.yaml"),
    watcher,
    clock,
    calledBack,
    swapSecret,
    changes: () => changes,
  };
}

describe("watching the files a config reads", () => {
  it("calls back once when a followed keys file's Secret is swapped", async () => {
    const { configFile, keysFile, watcher, clock, calledBack, swapSecret, changes } = await watchedPair();
    watcher.setFiles([configFile, keysFile]);
    await swapSecret("..2026_02", "- { clientId: a, sha256: x }\n");
    expect(await calledBack(1)).toBe(true);
    clock.advance(DEBOUNCE_MS * 4);
    expect(changes()).toBe(1);
  });

  it("does not call back for a keys file no longer followed, and keeps watching the config file", async () => {
    const { configFile, keysFile, watcher, clock, calledBack, swapSecret, changes } = await watchedPair();
    watcher.setFiles([configFile, keysFile]);
    watcher.setFiles([configFile]);
    await swapSecret("..2026_02", "- { clientId: a, sha256: x }\n");
    await writeFile(configFile, "routes: [1]\n");
    expect(await calledBack(1)).toBe(true);
    await swapSecret("..2026_03", "- { clientId: b, sha256: y }\n");
    clock.advance(DEBOUNCE_MS * 4);
    expect(changes()).toBe(1);
  });

  it("follows the keys file and denial pages a config names, each once", () => {
    const files = filesReadByConfig({
      apiKeys: { file: "/etc/portcullis/keys/api-keys.yaml" },
      routes: [{ denial: { htmlFile: "/etc/pages/403.html" } }, { denial: { htmlFile: "/etc/pages/403.html" } }, {}],
    } as unknown as Parameters<typeof filesReadByConfig>[0]);
    expect(files).toEqual(["/etc/portcullis/keys/api-keys.yaml", "/etc/pages/403.html"]);
  });
});
