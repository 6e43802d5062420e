// `routes[].mode: shadow` in the config: refused where it could never deny (a public route) or
// where it would need an upstream (token exchange), not counted as hiding later rules, and shown
// by `check-config --explain-routes`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-shadow-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function checkConfig(name: string, yaml: string, extra: string[] = []) {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  let stdout = "";
  let stderr = "";
  const code = await runCheckConfig(["--config", path, ...extra], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, stdout, stderr };
}

const PROVIDERS = `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
`;

describe("routes[].mode: shadow in check-config", () => {
  it("is refused on a public route, naming the key and the fix", async () => {
    const { code, stderr } = await checkConfig(
      "public.yaml",
      `${PROVIDERS}routes:\n  - { name: open, mode: shadow, match: { path: /x }, auth: public }\n`,
    );
    expect(code).not.toBe(0);
    expect(stderr).toContain("routes[0].mode: is shadow but the route is public");
  });

  it("is refused with token exchange, which a rule that never lets a request through cannot use", async () => {
    const { code, stderr } = await checkConfig(
      "exchange.yaml",
      `${PROVIDERS}routes:
  - name: api-x
    mode: shadow
    match: { path: /api }
    auth: required
    exchange: { enabled: true, audience: [orders], clientId: x, clientSecret: y }
  - { name: api, match: { path: /api }, auth: required }
`,
    );
    expect(code).not.toBe(0);
    expect(stderr).toContain("routes[0].exchange.enabled: is true on a mode: shadow route");
  });

  it("does not report the rule after a catch-all shadow rule as unreachable, and shows the mode in --explain-routes", async () => {
    const { code, stdout, stderr } = await checkConfig(
      "ok.yaml",
      `${PROVIDERS}routes:
  - { name: strict, mode: shadow, match: {}, auth: required, require: { scopes: [admin] } }
  - { name: api, match: { path: /api }, auth: required }
`,
      ["--explain-routes"],
    );
    expect(code).toBe(0);
    expect(stderr).not.toContain("unreachable");
    expect(stdout).toContain("0. strict (routes[0], shadow: would-be denials counted, the next matching rule decides)");
    expect(stdout).toContain("1. api (routes[1])\n");
    expect(stdout).toContain("overlaps: none");
  });
});
