// `session.keysFile`: the sealing keys read from a file at load, one per line (blank and `#` lines
// skipped), exclusive with `session.keys`, every problem at `session.keysFile` without quoting a key;
// and `--watch` watches the file beside the config (the watched set follows the config in use).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSourceFiles } from "../../src/app/watchConfigFile.ts";
import { watchFiles } from "../../src/app/watchFiles.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";
import { loadConfigFile } from "../../src/config/loadConfigFile.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const KEY_A = "a".repeat(24) + "-first-key-0123456789";
const KEY_B = "b".repeat(24) + "-second-key-012345678";
let dir = "";
let count = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-keys-file-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function load(session: string, keysText?: string): Promise<ConfigResult & { file: string }> {
  count += 1;
  if (keysText !== undefined) await writeFile(join(dir, `keys-${count}`), keysText);
  const file = join(dir, `config-${count}.yaml`);
  const yaml = `session:\n${session.replaceAll("KEYS", join(dir, `keys-${count}`))}\nroutes:\n  - name: all\n    match: { path: / }\n    auth: public\n`;
  await writeFile(file, yaml);
  return { ...loadConfigFile(file, {}), file };
}
const problems = (result: ConfigResult): string[] => (result.ok ? [] : result.problems.map(formatIssue));

describe("session.keysFile", () => {
  it("reads one key per line, the first sealing, skipping blank and comment lines", async () => {
    const result = await load("  keysFile: KEYS", `# rotated 2026-12\n${KEY_A}\n\n${KEY_B}\r\n`);
    expect(problems(result)).toEqual([]);
    expect(result.ok && result.config.session.keys).toEqual([KEY_A, KEY_B]);
    if (result.ok)
      expect(configSourceFiles(result.file, result.config)).toEqual([result.file, join(dir, `keys-${count}`)]);
  });

  it("is exclusive with session.keys", async () => {
    const result = await load(`  keys: ["${KEY_A}"]\n  keysFile: KEYS`, `${KEY_B}\n`);
    expect(problems(result)).toEqual(["session.keysFile: set either session.keys or session.keysFile, not both"]);
  });

  it("names the line of a key that is too short, never the key", async () => {
    const result = await load("  keysFile: KEYS", `${KEY_A}\nshort-secret\n`);
    expect(problems(result)).toEqual([
      expect.stringMatching(/^session\.keysFile: line 2 of .* is shorter than 32 characters/),
    ]);
    expect(JSON.stringify(result)).not.toContain("short-secret");
  });

  it("reports a missing or empty file", async () => {
    expect(problems(await load("  keysFile: KEYS"))).toEqual([
      expect.stringMatching(/^session\.keysFile: cannot read .*keys-\d+ \(ENOENT\)/),
    ]);
    expect(problems(await load("  keysFile: KEYS", "\n# nothing yet\n"))).toEqual([
      expect.stringMatching(/^session\.keysFile: .* holds no key: write one per line, the sealing key first$/),
    ]);
  });

  it("leaves a config without it alone, and --watch watches only the config file then", async () => {
    const result = await load(`  keys: ["${KEY_A}"]`);
    expect(result.ok && result.config.session.keys).toEqual([KEY_A]);
    if (result.ok) expect(configSourceFiles(result.file, result.config)).toEqual([result.file]);
  });
});

describe("watching the config's files", () => {
  it("calls back when a file added to the watched set changes, and no longer for one taken out", async () => {
    const [config, keys, old] = [join(dir, "watched.yaml"), join(dir, "watched-keys"), join(dir, "old-keys")];
    for (const file of [config, keys, old]) await writeFile(file, "1\n");
    const clock = createManualClock();
    let changes = 0;
    const watcher = watchFiles([config, old], () => (changes += 1), { debounceMs: 20, clock });
    try {
      watcher.setFiles([config, keys]);
      await writeFile(old, "2\n");
      await writeFile(keys, "2\n");
      const seen = await waitUntil(
        async () => {
          clock.advance(20);
          return changes === 1;
        },
        5000,
        10,
      );
      expect(seen).toBe(true);
      await writeFile(old, "3\n");
      for (let i = 0; i < 10; i += 1) {
        clock.advance(20);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(changes).toBe(1);
    } finally {
      watcher.close();
    }
  });
});
