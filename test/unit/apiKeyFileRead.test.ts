// apiKeys.file is read without trusting what the path names: a FIFO or a device there is refused at
// once (neither blocks the reload nor reads without end), a Secret's symlinked file is followed, and
// a file over the limit is refused without its bytes in the problem.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_API_KEY_FILE_BYTES, readApiKeyFile } from "../../src/config/readApiKeyFile.ts";

const dir = mkdtempSync(join(tmpdir(), "portcullis-apikeys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENTRY = `- clientId: legacy-billing\n  sha256: ${"ab".repeat(32)}\n  scopes: [billing.read]\n  roles: []\n`;

describe("reading apiKeys.file", () => {
  it("refuses a FIFO at the path at once, with no writer on the other end", () => {
    const fifo = join(dir, "keys.fifo");
    execFileSync("mkfifo", [fifo]);
    expect(readApiKeyFile(fifo)).toEqual({
      ok: false,
      problems: [`${fifo}: is not a regular file: point apiKeys.file at a keys file`],
    });
  });

  it("refuses a device that reads without end", () => {
    expect(readApiKeyFile("/dev/zero")).toEqual({
      ok: false,
      problems: ["/dev/zero: is not a regular file: point apiKeys.file at a keys file"],
    });
  });

  it("follows a symlinked file, as a mounted Secret's", () => {
    const real = join(dir, "real.yaml");
    writeFileSync(real, ENTRY);
    const link = join(dir, "keys.yaml");
    symlinkSync(real, link);
    const read = readApiKeyFile(link);
    expect(read.ok && read.keys.map((key) => key.clientId)).toEqual(["legacy-billing"]);
  });

  it("refuses a file over the limit without quoting it", () => {
    const big = join(dir, "big.yaml");
    writeFileSync(big, ENTRY + `# ${"k".repeat(MAX_API_KEY_FILE_BYTES)}\n`);
    expect(readApiKeyFile(big)).toEqual({ ok: false, problems: [`${big}: is larger than 1 MiB`] });
  });
});
