import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";
import { loadConfigFile } from "../../src/config/loadConfigFile.ts";

let dir = "";
let count = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-config-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function load(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigResult {
  count += 1;
  const file = join(dir, `config-${count}.yaml`);
  writeFileSync(file, yaml);
  return loadConfigFile(file, env);
}
const issues = (result: ConfigResult): string[] => (result.ok ? [] : result.problems.map(formatIssue));

const VALID = `
providers:
  demo:
    issuer: https://idp.example.com
    audiences: [api]
routes:
  - name: api
    match: { path: /api }
    auth: required
`;

describe("loadConfigFile", () => {
  it("loads a valid file into a frozen config", () => {
    const result = load(VALID);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.providers.demo?.issuer).toBe("https://idp.example.com");
    expect(Object.isFrozen(result.config)).toBe(true);
  });

  it("reports every problem of the acceptance case together", () => {
    const result = load("routes:\n  - match: {path: admin}\n    auth: sometimes\nbogus_key: 1\n");
    const paths = result.ok ? [] : result.problems.map((p) => p.path);
    expect(paths.sort()).toEqual(["bogus_key", "routes[0].auth", "routes[0].match.path", "routes[0].name"]);
  });

  it("reports a missing file as a (file) problem", () => {
    const result = loadConfigFile(join(dir, "nope.yaml"), {});
    expect(issues(result)).toEqual([`(file): cannot read ${join(dir, "nope.yaml")}: no such file`]);
  });

  it("reports a directory as a (file) problem", () => {
    const sub = join(dir, "a-directory");
    mkdirSync(sub);
    expect(issues(loadConfigFile(sub, {}))).toEqual([`(file): cannot read ${sub}: it is a directory`]);
  });

  it("reports a YAML syntax error with line:col and without echoing the source line", () => {
    const result = load("routes:\n  - name: a\n    match: {path: /x\nsecret: hunter2-very-secret\n");
    const all = issues(result).join("\n");
    expect(all).toMatch(/^\(yaml\): line \d+:\d+: /);
    expect(all).not.toContain("hunter2");
  });

  it("rejects duplicate keys with their position", () => {
    const result = load("routes:\n  - name: a\n    name: b\n    match: {path: /x}\n    auth: public\n");
    expect(issues(result)).toEqual([expect.stringMatching(/^\(yaml\): line 3:5: .*unique/)]);
  });

  it("accepts anchors, aliases and merge keys", () => {
    const result = load(`
providers:
  a: &base
    issuer: https://a.example.com
    audiences: &aud [api]
  b:
    <<: *base
    issuer: https://b.example.com
routes:
  - { name: api, match: { path: /api }, auth: required, providers: [a, b] }
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.providers.b?.audiences).toEqual(["api"]);
    expect(result.config.providers.b?.issuer).toBe("https://b.example.com");
  });

  it("rejects a __proto__ key instead of letting it supply inherited values", () => {
    const result = load(`
providers:
  demo:
    __proto__: { issuer: https://idp.example.com, audiences: [api] }
routes:
  - { name: api, match: { path: /api }, auth: required }
`);
    expect(issues(result)).toEqual(
      expect.arrayContaining([
        "providers.demo.issuer: is required",
        "providers.demo.audiences: is required",
        expect.stringMatching(/^providers\.demo\.__proto__: unknown key/),
      ]),
    );
  });

  it("reports an empty file as an empty config", () => {
    expect(issues(load(""))).toEqual([expect.stringMatching(/^\(root\): the config is empty/)]);
  });
});

describe("loadConfigFile: environment substitution", () => {
  const withIssuer = (issuer: string) => VALID.replace("https://idp.example.com", issuer);

  it("replaces ${NAME} with the variable's value", () => {
    const result = load(withIssuer("https://${IDP_HOST}/realms/${REALM}"), {
      IDP_HOST: "idp.example.com",
      REALM: "main",
    });
    expect(result.ok && result.config.providers.demo?.issuer).toBe("https://idp.example.com/realms/main");
  });

  it("reports an unset variable at its key path", () => {
    const result = load(withIssuer("${IDP_ISSUER}"));
    expect(issues(result)).toEqual(["providers.demo.issuer: environment variable IDP_ISSUER is not set"]);
  });

  it("reports an unset variable inside a list at its index", () => {
    const result = load(VALID.replace("[api]", "[api, '${AUD2}']"));
    expect(issues(result)).toEqual(["providers.demo.audiences[1]: environment variable AUD2 is not set"]);
  });

  it("treats $${ as a literal ${", () => {
    const result = load(`${VALID}identity:\n  claimHeaders:\n    x-odd: "claim$\${x}"\n`, {});
    expect(result.ok && result.config.identity.claimHeaders["x-odd"]).toBe("claim${x}");
  });

  it("reports an unterminated ${", () => {
    expect(issues(load(withIssuer("https://${IDP")))).toEqual([
      expect.stringMatching(/^providers\.demo\.issuer: unterminated/),
    ]);
  });

  it("never quotes a substituted value in a problem", () => {
    const result = load(withIssuer("${IDP_ISSUER}"), { IDP_ISSUER: "not-a-url-s3cr3t" });
    const all = issues(result);
    expect(all).toEqual([expect.stringMatching(/^providers\.demo\.issuer: must be an absolute URL$/)]);
    expect(all.join()).not.toContain("s3cr3t");
  });

  it("does not substitute inside keys", () => {
    const result = load(`${VALID}identity:\n  claimHeaders:\n    "x-\${A}": sub\n`, { A: "b" });
    expect(issues(result)).toEqual([expect.stringMatching(/^identity\.claimHeaders\["x-\$\{A\}"\]: /)]);
  });
});
