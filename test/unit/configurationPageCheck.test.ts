// docs/configuration.md shows what check-config prints for a file with two typos; this runs
// check-config on that file and holds the page's lines to what it prints, so the example stays true.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";
import { fencedBlocks, missingOutputLines, readPage } from "../harness/markdownBlocks.ts";

/** The file the page describes: `audience:` for `audiences:` and `mach:` for `match:`. */
const WITH_TYPOS = `providers:
  corp:
    issuer: https://sso.example.com/realms/corp
    audience: [orders-api]
routes:
  - name: orders-api
    mach: { path: /api/orders }
    auth: required
`;

const dir = mkdtempSync(join(tmpdir(), "portcullis-config-page-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/configuration.md's check-config example", () => {
  it("shows the problems and the did-you-mean suggestions check-config prints for the file it describes", async () => {
    const shown = fencedBlocks(readPage("docs/configuration.md")).find(
      (b) => b.lang === "text" && "check-config" in b.attributes,
    );
    expect(shown).toBeDefined();
    const file = join(dir, "portcullis.yaml");
    writeFileSync(file, WITH_TYPOS);
    let stderr = "";
    const code = await runCheckConfig(["--config", file], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
    });
    expect(code).toBe(1);
    const expected = shown!.text
      .split("\n")
      .filter((line) => !line.startsWith("$ "))
      .join("\n");
    expect(missingOutputLines(expected, stderr.replaceAll(file, "portcullis.yaml"))).toEqual([]);
  });
});
