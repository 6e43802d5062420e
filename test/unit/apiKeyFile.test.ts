// The API keys file (`apiKeys.file`): its entries join the inline keys of every config generation;
// a file that does not load (unreadable, not a list, an entry with a key in clear, a digest or client
// id twice, in the file or beside the inline keys) is refused with every problem naming the file and
// the entry, never quoting what is written where a digest belongs; the admitted set follows the file from one load to the next.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { createApiKeySet } from "../../src/core/ApiKeySet.ts";
import { summarizeConfig } from "../../src/app/summarizeConfig.ts";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";

type Raw = Record<string, any>;
const digest = (key: string) => createHash("sha256").update(key).digest("hex");
const dir = mkdtempSync(join(tmpdir(), "apikey-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function keysFile(text: string): string {
  files += 1;
  const file = join(dir, `keys-${files}.yaml`);
  writeFileSync(file, text);
  return file;
}

const config = (file: string, inline: Raw[] = []): Raw => ({
  providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  routes: [{ name: "legacy", match: { path: "/legacy" }, auth: "required", apiKeys: true }],
  apiKeys: { enabled: true, keys: inline, file },
});

function problemsOf(raw: Raw): string[] {
  const result = parseConfig(raw);
  return result.ok ? [] : result.problems.map(formatIssue);
}

function clientOf(raw: Raw, key: string): string {
  const result = parseConfig(raw);
  if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
  const request = { headers: new Map([["x-api-key", key]]), path: "/legacy" } as unknown as AccessRequest;
  const subject = createApiKeySet(result.config.apiKeys)?.subjectOf(request, { name: "legacy", apiKeys: true });
  if (subject === null || subject === undefined) return "(none)";
  return subject.kind === "subject" ? String(subject.claims["client_id"]) : subject.code;
}

describe("the API keys file", () => {
  it("admits the file's keys beside the inline ones, with their scopes and roles", () => {
    const file = keysFile(
      `- { clientId: reports-cron, sha256: ${digest("rk")}, scopes: [reports:read], roles: [batch] }\n`,
    );
    const result = parseConfig(config(file, [{ clientId: "inline", sha256: digest("in") }]));
    if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
    expect(result.config.apiKeys?.keys).toEqual([
      { clientId: "inline", sha256: digest("in"), scopes: [], roles: [] },
      { clientId: "reports-cron", sha256: digest("rk"), scopes: ["reports:read"], roles: ["batch"] },
    ]);
    expect(clientOf(config(file), "rk")).toBe("reports-cron");
  });

  it("is counted, never shown, in check-config's summary", () => {
    const file = keysFile(`- { clientId: counted, sha256: ${digest("c")} }\n`);
    const result = parseConfig(config(file, [{ clientId: "inline", sha256: digest("i") }]));
    if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
    const summary = summarizeConfig("portcullis.yaml", result.config);
    expect(summary).toContain(`API keys: 2 (with those of ${file})`);
    expect(summary).not.toContain(digest("c"));
  });

  it("reads a JSON file as well", () => {
    const file = keysFile(JSON.stringify([{ clientId: "json-client", sha256: digest("j") }]));
    expect(clientOf(config(file), "j")).toBe("json-client");
  });

  it("admits a key added to the file and refuses one removed at the next load", () => {
    const file = keysFile(`- { clientId: old, sha256: ${digest("old")} }\n`);
    expect(clientOf(config(file), "old")).toBe("old");
    writeFileSync(file, `- { clientId: new, sha256: ${digest("new")} }\n`);
    expect(clientOf(config(file), "new")).toBe("new");
    expect(clientOf(config(file), "old")).toBe("api_key_invalid");
  });

  const invalid: [string, () => Raw, RegExp][] = [
    ["refuses a file that cannot be read", () => config(join(dir, "absent.yaml")), /cannot be read \(ENOENT\)/],
    ["refuses a relative path", () => config("keys.yaml"), /^apiKeys\.file: /],
    ["refuses a mapping where a list belongs", () => config(keysFile("keys: []\n")), /must be a list of entries/],
    [
      "refuses YAML that does not parse",
      () => config(keysFile("- { clientId: a\n")),
      /is not valid YAML or JSON at line/,
    ],
    [
      "refuses a key in clear where a digest belongs, naming the entry",
      () =>
        config(keysFile(`- { clientId: a, sha256: ${digest("a")} }\n- { clientId: b, sha256: my-secret-api-key }\n`)),
      /^apiKeys\.file: \S+keys-\d+\.yaml \[1\]\.sha256: must be the SHA-256 digest/,
    ],
    [
      "refuses an unknown field in an entry",
      () => config(keysFile(`- { clientId: a, sha256: ${digest("a")}, key: x }\n`)),
      /\[0\]\.key: /,
    ],
    [
      "refuses one digest twice in the file",
      () => config(keysFile(`- { clientId: a, sha256: ${digest("a")} }\n- { clientId: b, sha256: ${digest("a")} }\n`)),
      /\[1\]\.sha256: is the digest of \[0\] too/,
    ],
    [
      "refuses one client id twice in the file",
      () => config(keysFile(`- { clientId: a, sha256: ${digest("a")} }\n- { clientId: a, sha256: ${digest("b")} }\n`)),
      /\[1\]\.clientId: is \[0\]'s client id too/,
    ],
    [
      "refuses a digest the inline keys have too",
      () => config(keysFile(`- { clientId: a, sha256: ${digest("a")} }\n`), [{ clientId: "b", sha256: digest("a") }]),
      /\[0\]\.sha256: is the digest of apiKeys\.keys\[0\] too/,
    ],
  ];
  for (const [name, raw, expected] of invalid)
    it(name, () => {
      const problems = problemsOf(raw());
      expect(
        problems.some((p) => expected.test(p)),
        problems.join("\n"),
      ).toBe(true);
    });

  it("never quotes what is written where a digest belongs", () => {
    const file = keysFile(`- { clientId: a, sha256: my-secret-api-key }\n`);
    const problems = problemsOf(config(file)).join("\n");
    expect(problems).toContain(`${file} [0].sha256`);
    expect(problems).not.toContain("my-secret");
  });
});
