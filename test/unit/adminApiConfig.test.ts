// admin.api: off by default; on only with a token of 32+ characters that comes from the
// environment. A token written in the file, a short one or none at all is a problem at
// admin.api.token with its fix, and the value is never quoted.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";
import { loadConfigFile } from "../../src/config/loadConfigFile.ts";

let dir = "";
let count = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-admin-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = `
providers:
  demo:
    issuer: https://idp.example.com
    audiences: [api]
routes:
  - name: api
    match: { path: /api }
    auth: required
`;

function load(admin: string, env: NodeJS.ProcessEnv = {}): ConfigResult {
  count += 1;
  const file = join(dir, `config-${count}.yaml`);
  writeFileSync(file, `${BASE}${admin}`);
  return loadConfigFile(file, env);
}
const issues = (result: ConfigResult): string[] => (result.ok ? [] : result.problems.map(formatIssue));
const TOKEN = "a-strong-admin-token-of-forty-characters";

describe("admin.api", () => {
  it("is off by default, with no token", () => {
    const result = load("");
    expect(result.ok && result.config.admin?.api).toEqual({ enabled: false, token: null });
  });

  it("takes a token of 32+ characters from the environment", () => {
    const result = load("admin:\n  api:\n    enabled: true\n    token: ${PORTCULLIS_ADMIN_TOKEN}\n", {
      PORTCULLIS_ADMIN_TOKEN: TOKEN,
    });
    expect(result.ok && result.config.admin?.api).toEqual({ enabled: true, token: TOKEN });
  });

  it("refuses a token written in the file, without quoting it", () => {
    const result = load(`admin:\n  api:\n    enabled: true\n    token: ${TOKEN}\n`);
    expect(issues(result)).toEqual([
      "admin.api.token: must come from the environment, not be written in the file: replace it with ${PORTCULLIS_ADMIN_TOKEN} and export the token in that variable",
    ]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it("refuses a token shorter than 32 characters, without quoting it", () => {
    const result = load("admin:\n  api:\n    enabled: true\n    token: ${PORTCULLIS_ADMIN_TOKEN}\n", {
      PORTCULLIS_ADMIN_TOKEN: "short-token",
    });
    expect(issues(result)).toEqual([
      "admin.api.token: must be at least 32 characters; generate one with `openssl rand -base64 32`",
    ]);
    expect(JSON.stringify(result)).not.toContain("short-token");
  });

  it("refuses the API on without a token", () => {
    expect(issues(load("admin:\n  api:\n    enabled: true\n"))).toEqual([
      "admin.api.token: is required when admin.api.enabled is true: set it to ${PORTCULLIS_ADMIN_TOKEN} and export a secret of 32+ characters (e.g. from `openssl rand -base64 32`)",
    ]);
  });

  it("refuses a token an Authorization header cannot carry (a space, non-ASCII), without quoting it", () => {
    const result = load("admin:\n  api:\n    enabled: true\n    token: ${PORTCULLIS_ADMIN_TOKEN}\n", {
      PORTCULLIS_ADMIN_TOKEN: `${TOKEN} with spaces`,
    });
    expect(issues(result)).toEqual([
      "admin.api.token: must be at most 1024 printable ASCII characters without spaces (it is sent as `Authorization: Bearer <token>`), e.g. from `openssl rand -base64 32`",
    ]);
  });

  it("warns when the API is served on an admin listener beyond loopback", () => {
    const result = load(
      'listen: { admin: "0.0.0.0:9464" }\nadmin:\n  api:\n    enabled: true\n    token: ${PORTCULLIS_ADMIN_TOKEN}\n',
      { PORTCULLIS_ADMIN_TOKEN: TOKEN },
    );
    expect(result.ok).toBe(true);
    expect(result.warnings.map(formatIssue)).toContain(
      "admin.api.enabled: serves the session admin API on listen.admin (0.0.0.0), which is not on loopback: only the token guards it, so keep that port unreachable from clients (a NetworkPolicy or firewall)",
    );
  });
});
