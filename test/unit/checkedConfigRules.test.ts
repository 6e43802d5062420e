// What `serve`, a reload and `check-config` load a config with: the config's own rules plus core's
// route-matching warnings, reported together with every problem, in one order.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { loadConfigFile } from "../../src/config/loadConfigFile.ts";

const dir = mkdtempSync(join(tmpdir(), "portcullis-checked-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, yaml: string): string {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

const SHADOWED = `
providers:
  corp: { issuer: "https://idp.example.com", audiences: [api] }
policy: { allowPathShapes: [trailingDot] }
listen: { admin: "0.0.0.0:9464" }
routes:
  - { name: api, match: { path: /api }, auth: required }
  - { name: api-admin, match: { path: /api/admin }, auth: required }
`;

describe("loading a config with every rule", () => {
  it("warns about shadowed routes and path shapes let through, in the order the rules run", () => {
    const result = loadCheckedConfig(write("shadowed.yaml", SHADOWED), {});
    expect(result.ok).toBe(true);
    expect(result.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(/^policy\.allowPathShapes: includes trailingDot: /),
      expect.stringMatching(/^routes\[1\]: is unreachable: routes\[0\] \(api\) matches every request it would/),
      expect.stringMatching(/^listen\.admin: is not on loopback/),
    ]);
  });

  it("gives those warnings alongside every problem of an invalid config", () => {
    const file = write("invalid.yaml", `${SHADOWED}  - { name: api, match: { path: admin }, auth: public }\n`);
    const result = loadCheckedConfig(file, {});
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map(formatIssue)).toEqual([
      'routes[2].match.path: must start with "/" (got "admin")',
      'routes[2].name: duplicate route name "api" (also routes[0]); give each route its own name',
    ]);
    expect(result.warnings.map((w) => w.path)).toEqual(["policy.allowPathShapes", "routes[1]", "listen.admin"]);
  });

  it("leaves the route-matching warnings to the caller that adds core's rule: the config room alone cannot give them", () => {
    const result = loadConfigFile(write("plain.yaml", SHADOWED), {});
    expect(result.warnings.map((w) => w.path)).toEqual(["listen.admin"]);
  });
});
