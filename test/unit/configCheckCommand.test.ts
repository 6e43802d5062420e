import { describe, expect, it } from "vitest";
import { checkConfigRunner } from "../harness/checkConfigRunner.ts";

const { run, file, pathOf } = checkConfigRunner("portcullis-check-");

describe("check-config", () => {
  it("lists every problem with its key path on stderr and exits 1", async () => {
    const path = file("bad.yaml", "routes:\n  - match: {path: admin}\n    auth: sometimes\nbogus_key: 1\n");
    const { code, stdout, stderr } = await run(["--config", path]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    const errors = stderr.split("\n").filter((l) => l.startsWith("error: "));
    expect(errors).toEqual(
      expect.arrayContaining([
        'error: routes[0].match.path: must start with "/" (got "admin")',
        'error: routes[0].auth: must be one of required, optional, public (got "sometimes")',
        "error: routes[0].name: is required",
        expect.stringMatching(/^error: bogus_key: unknown key/),
      ]),
    );
    expect(errors).toHaveLength(4);
  });

  it("lists the effective rules of a mode, its catch-all default, methods, path forms and requirements", async () => {
    const path = file(
      "modes.yaml",
      `policy: { mode: whitelist }
providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
routes:
  - { name: health, match: { pathExact: /healthz, methods: [GET, HEAD] } }
  - { name: reports, match: { path: /reports }, auth: required, require: { scopes: [reports.read], roles: [analyst] } }
  - { name: office, match: { path: /office }, auth: required, require: { request: { sourceAddresses: [10.0.0.0/8] } } }
  - { name: api, match: { path: /api }, auth: required }
`,
    );
    const { code, stdout } = await run([`--config=${path}`], {});
    expect(code).toBe(0);
    const lines = stdout.split("\n").map((line) => line.trim());
    expect(stdout).toContain("routes (5, mode whitelist, first match wins):");
    expect(lines).toContain("0. health: any host GET|HEAD = /healthz -> auth public");
    expect(lines).toContain("1. reports: any host /reports -> auth required, providers all, requires scopes, roles");
    expect(lines).toContain("2. office: any host /office -> auth required, providers all, requires request");
    // A rule that requires nothing says so by listing nothing (no part the parser filled in empty).
    expect(lines).toContain("3. api: any host /api -> auth required, providers all");
    expect(lines).toContain("4. default: any host every path -> auth required, providers all");
  });

  it("prints a summary with providers, routes, listeners and warnings and exits 0", async () => {
    const path = file(
      "good.yaml",
      `listen: { admin: "0.0.0.0:9464" }
providers:
  demo: { issuer: "\${ISSUER}", audiences: [api], allowInsecureHttp: true }
routes:
  - { name: api, match: { host: api.example.com, path: /api }, auth: required }
  - { name: health, match: { path: /healthz }, auth: public }
`,
    );
    const { code, stdout, stderr } = await run([`--config=${path}`], { ISSUER: "http://localhost:3000" });
    expect(code).toBe(0);
    expect(stdout).toContain("listen: grpc 0.0.0.0:9191, auth 0.0.0.0:8181, admin 0.0.0.0:9464");
    expect(stdout).toContain("tls: off: grpc and auth are plaintext (for a sidecar on loopback or a mesh");
    expect(stdout).toContain("demo: issuer http://localhost:3000, audiences api");
    expect(stdout).toContain("0. api: api.example.com /api -> auth required, providers all");
    expect(stdout).toContain("1. health: any host /healthz -> auth public");
    expect(stdout).toContain("routes (2, mode rules, first match wins; no match = deny):");
    expect(stdout).toContain("warnings: 2");
    expect(stderr.split("\n").filter((l) => l.startsWith("warning: "))).toEqual([
      expect.stringMatching(/^warning: providers\.demo\.allowInsecureHttp: /),
      expect.stringMatching(/^warning: listen\.admin: /),
    ]);
  });

  it("says when the admin API is on, and refuses an admin token written in the file without printing it", async () => {
    const yaml = (token: string) => `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
routes:
  - { name: api, match: { path: /api }, auth: required }
admin: { api: { enabled: true, token: "${token}" } }
`;
    const on = await run([`--config=${file("admin-on.yaml", yaml("\${ADMIN_TOKEN}"))}`], {
      ADMIN_TOKEN: "x".repeat(40),
    });
    expect(on.code).toBe(0);
    expect(on.stdout).toContain(
      "admin API: on (session control under /admin/ on 127.0.0.1:9464; token from the environment)",
    );
    expect(on.stdout + on.stderr).not.toContain("x".repeat(40));
    const literal = await run([`--config=${file("admin-literal.yaml", yaml("y".repeat(40)))}`]);
    expect(literal.code).toBe(1);
    expect(literal.stderr).toContain("admin.api.token: must come from the environment, not be written in the file");
    expect(literal.stdout + literal.stderr).not.toContain("y".repeat(40));
  });

  it("exits 1 with usage when --config is missing", async () => {
    const { code, stderr } = await run([]);
    expect(code).toBe(1);
    expect(stderr).toContain("error: --config FILE is required");
    expect(stderr).toContain("usage: portcullis check-config --config FILE");
  });

  it("exits 1 on an unknown argument", async () => {
    const { code, stderr } = await run(["--config", "x.yaml", "--verbose"]);
    expect(code).toBe(1);
    expect(stderr).toContain('unknown argument "--verbose"');
  });

  it("reports an unreadable file and exits 1", async () => {
    const { code, stderr } = await run(["--config", pathOf("missing.yaml")]);
    expect(code).toBe(1);
    expect(stderr).toContain("error: (file): cannot read");
  });
});
