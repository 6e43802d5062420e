// `portcullis apikey new`: prints a fresh key once and an entry holding only its digest, which the
// keys file accepts and which admits exactly that key with the scopes and roles asked for; a client
// id or scope the config would refuse is a usage error naming the key, and nothing is printed then.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runApiKeyCommand } from "../../src/app/runApiKeyCommand.ts";
import { readApiKeyFile } from "../../src/config/readApiKeyFile.ts";
import { REPO_ROOT } from "../harness/startPortcullisProcess.ts";

function run(...argv: string[]) {
  let out = "";
  let err = "";
  const code = runApiKeyCommand(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

function keyAndEntry(out: string): { key: string; entryLine: string } {
  const key = /^key: (\S+)$/m.exec(out)?.[1];
  const entryLine = out.split("\n").find((line) => line.startsWith("- "));
  if (key === undefined || entryLine === undefined) throw new Error(`unexpected output:\n${out}`);
  return { key, entryLine };
}

describe("portcullis apikey new", () => {
  it("prints a 43-character key and an entry with its digest that the keys file accepts", () => {
    const { code, out } = run("new", "--client", "reports-cron", "--scope", "reports:read", "--role", "batch");
    expect(code).toBe(0);
    const { key, entryLine } = keyAndEntry(out);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(entryLine).not.toContain(key);
    const dir = mkdtempSync(join(tmpdir(), "apikey-new-"));
    try {
      const file = join(dir, "keys.yaml");
      writeFileSync(file, `${entryLine}\n`);
      const read = readApiKeyFile(file);
      expect(read).toEqual({
        ok: true,
        keys: [
          {
            clientId: "reports-cron",
            sha256: createHash("sha256").update(key).digest("hex"),
            scopes: ["reports:read"],
            roles: ["batch"],
          },
        ],
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("makes a different key each time", () => {
    expect(keyAndEntry(run("new", "--client", "a").out).key).not.toBe(keyAndEntry(run("new", "--client", "a").out).key);
  });

  it("refuses what the config would refuse, naming the key, and prints no key", () => {
    const spaced = run("new", "--client", "two words");
    expect(spaced).toMatchObject({ code: 2, out: "" });
    expect(spaced.err).toContain("clientId: must be 1..200 visible ASCII characters");
    expect(run("new", "--client", "a", "--role", "x,y").err).toContain("roles[0]");
    expect(run("new")).toMatchObject({ code: 2, out: "" });
    expect(run("new", "--client", "a", "--bogus").code).toBe(2);
    expect(run("rotate").code).toBe(2);
  });

  it("is reached through the portcullis command", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", join(REPO_ROOT, "src/cli/main.ts"), "apikey", "new", "--client", "c1"],
      { cwd: REPO_ROOT },
    );
    expect(stdout).toMatch(/^key: [A-Za-z0-9_-]{43}$/m);
    expect(stdout).toContain('"clientId":"c1"');
  });
});
