import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-routes-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCheckConfig(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, stdout, stderr };
}

function file(name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

const PROVIDERS = `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
`;
const WHITELIST = `policy: { mode: whitelist }
${PROVIDERS}routes:
  - { name: health, match: { pathExact: /healthz, methods: [GET] } }
  - name: reports
    match: { host: reports.example.com, path: /reports }
    auth: required
    require:
      scopes: [reports.read]
      roles: { allOf: [analyst, auditor] }
      claims: { all: [{ claim: org, equals: acme }, { any: [{ claim: tier, oneOf: [1, 2] }, { claim: admin, exists: true }] }] }
  - { name: report-x, match: { path: /reports/x }, auth: required }
  - { name: files, match: { pathGlob: "/files/*/raw" }, auth: optional, providers: [demo], require: { principal: user, amr: [mfa], maxAge: 300 } }
`;

describe("check-config --explain-routes", () => {
  it("prints every rule in match order with its match, auth, providers and summarised requirements", async () => {
    const { code, stdout } = await run(["--config", file("w.yaml", WHITELIST), "--explain-routes"]);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe("routes (5, mode whitelist, first match wins):");
    expect(stdout).toContain(
      "0. health (routes[0])\n     match: any host, GET|HEAD, exact /healthz\n     auth: public\n1. reports (routes[1])",
    );
    expect(stdout).toContain(
      "     match: host reports.example.com, any method, prefix /reports (any case)\n" +
        "     auth: required, providers all\n" +
        '     scopes: all of "reports.read"\n' +
        '     roles: all of "analyst", "auditor"\n' +
        '     claims: org = "acme" and (tier in [1, 2] or admin exists)\n',
    );
    expect(stdout).toContain(
      "3. files (routes[3])\n" +
        "     match: any host, any method, glob /files/*/raw (any case, trailing slash either way)\n" +
        "     auth: optional, providers demo\n" +
        "     principal: user\n" +
        '     amr: all of "mfa"\n' +
        "     maxAge: authenticated within 300s\n",
    );
    expect(stdout).toContain(
      "4. default (appended by whitelist mode)\n     match: any host, any method, every path\n     auth: required, providers all\n",
    );
  });

  it("flags the rule an earlier one shadows with the checker's own reason", async () => {
    const { stdout, stderr } = await run(["--config", file("w2.yaml", WHITELIST), "--explain-routes"]);
    expect(stdout).toContain(
      "2. report-x (routes[2])\n     match: any host, any method, prefix /reports/x (any case)\n     auth: required, providers all\n" +
        "     ! is partly shadowed: routes[1] (reports) comes first and decides the requests both match",
    );
    expect(stdout).toMatch(/overlaps: 1 rule\(s\) flagged \(!\)\n$/);
    // The same finding is the warning check-config always prints.
    expect(stderr).toContain("warning: routes[2]: is partly shadowed: routes[1] (reports)");
  });

  it("marks a wholly shadowed rule and the catch-all a listed rule swallows as unreachable", async () => {
    const path = file(
      "b.yaml",
      `policy: { mode: blacklist }
${PROVIDERS}routes:
  - { name: all, match: {} }
  - { name: admin, match: { path: /admin } }
`,
    );
    const { code, stdout } = await run(["--config", path, "--explain-routes"]);
    expect(code).toBe(0);
    expect(stdout).toContain("1. admin (routes[1])");
    expect(stdout).toMatch(
      /admin \(routes\[1\]\)\n(.*\n){2}     ! is unreachable: routes\[0\] \(all\) matches every request it would/,
    );
    expect(stdout).toContain(
      "2. default (appended by blacklist mode)\n     match: any host, any method, every path\n     auth: public\n     ! is unreachable: routes[0] matches every request\n",
    );
    expect(stdout).toContain("overlaps: 3 rule(s) flagged (!)");
  });

  it("says an unmatched request is denied in rules mode and reports no overlaps when there are none", async () => {
    const path = file(
      "r.yaml",
      `${PROVIDERS}routes:
  - { name: api, match: { pathRegex: "^/v[0-9]+/items$", methods: [POST] }, auth: required, require: { scopes: [write] } }
`,
    );
    const { stdout } = await run(["--config", path, "--explain-routes"]);
    expect(stdout).toBe(
      "routes (1, mode rules, first match wins; no match = deny (route_not_found)):\n" +
        "0. api (routes[0])\n" +
        "     match: any host, POST, regex ^/v[0-9]+/items$ (any case, trailing slash either way)\n" +
        "     auth: required, providers all\n" +
        '     scopes: all of "write"\n' +
        "overlaps: none\n",
    );
  });

  it("prints the same table as JSON with --json", async () => {
    const { code, stdout } = await run(["--config", file("w3.yaml", WHITELIST), "--explain-routes", "--json"]);
    expect(code).toBe(0);
    const table = JSON.parse(stdout) as { mode: string; unmatched: null; rules: Record<string, unknown>[] };
    expect(table.mode).toBe("whitelist");
    expect(table.unmatched).toBeNull();
    expect(table.rules.map((r) => r.name)).toEqual(["health", "reports", "report-x", "files", "default"]);
    expect(table.rules[1]).toEqual({
      position: 1,
      name: "reports",
      configIndex: 1,
      hosts: ["reports.example.com"],
      path: { kind: "prefix", pattern: "/reports" },
      methods: null,
      caseInsensitive: true,
      trailingSlashToggled: false,
      auth: "required",
      mode: "enforce",
      providers: [],
      requirements: [
        { what: "scopes", text: 'all of "reports.read"' },
        { what: "roles", text: 'all of "analyst", "auditor"' },
        { what: "claims", text: 'org = "acme" and (tier in [1, 2] or admin exists)' },
      ],
      findings: [],
    });
    expect(table.rules[2]?.findings).toEqual([
      { kind: "shadowed", message: expect.stringMatching(/^is partly shadowed: routes\[1\]/) },
    ]);
    expect(table.rules[4]).toMatchObject({ name: "default", configIndex: null, path: { kind: "any", pattern: null } });
  });

  it("refuses --json without --explain-routes and --envoy with it", async () => {
    const path = file("r2.yaml", "routes: []\n");
    expect((await run(["--config", path, "--json"])).stderr).toContain("error: --json needs --explain-routes");
    const both = await run(["--config", path, "--envoy", "--explain-routes"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("error: --envoy and --explain-routes exclude each other");
  });
});
