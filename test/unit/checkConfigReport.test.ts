// `check-config --format json` prints one JSON document with every problem and warning (key path,
// message, severity) and the same exit codes as the text output; `--strict` makes warnings fail.
import { describe, expect, it } from "vitest";
import { checkConfigRunner } from "../harness/checkConfigRunner.ts";

const { run, file, pathOf } = checkConfigRunner("portcullis-check-report-");

const CLEAN = `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
routes:
  - { name: api, match: { path: /api }, auth: required }
`;
// allowInsecureHttp is accepted with a warning.
const WARNED = `providers:
  demo: { issuer: "http://localhost:3000", audiences: [api], allowInsecureHttp: true }
routes:
  - { name: api, match: { path: /api }, auth: required }
`;

describe("check-config --format json", () => {
  it("lists each problem with its key path and severity on stdout, suggests the key meant, and exits 1", async () => {
    const path = file("bad.yaml", `${CLEAN}  - { name: admin, mach: { path: /admin }, auth: public }\nbogus_key: 1\n`);
    const { code, stdout, stderr } = await run(["--config", path, "--format", "json"]);
    expect(code).toBe(1);
    expect(stderr).toBe("");
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ ok: false, file: path, strict: false, errors: 2, warnings: 0 });
    expect(report.summary).toBeUndefined();
    expect(report.problems).toEqual([
      { path: "routes[1].mach", message: expect.stringContaining('did you mean "match"'), severity: "error" },
      { path: "bogus_key", message: expect.stringMatching(/^unknown key/), severity: "error" },
    ]);
  });

  it("reports a valid config as ok with its warnings and summary lines, and exits 0", async () => {
    const { code, stdout } = await run([`--config=${file("warned.yaml", WARNED)}`, "--format=json"]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ ok: true, errors: 0, warnings: 1 });
    expect(report.problems).toEqual([
      { path: "providers.demo.allowInsecureHttp", message: expect.any(String), severity: "warning" },
    ]);
    expect(report.summary[0]).toBe(`config ok: ${pathOf("warned.yaml")}`);
    expect(report.summary).toContain("providers (1):");
    expect(report.summary).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}0\. api: any host \/api -> /)]));
  });

  it("never prints a value that came from the environment, even one that fails its check", async () => {
    const secret = "not-a-url-but-a-secret-value-1234567890";
    const yaml = CLEAN.replace("https://idp.example.com", "${ISSUER}");
    const { code, stdout } = await run(["--config", file("env.yaml", yaml), "--format", "json"], { ISSUER: secret });
    expect(code).toBe(1);
    expect(JSON.parse(stdout).problems[0].path).toBe("providers.demo.issuer");
    expect(stdout).not.toContain(secret);
  });

  it("refuses an unknown format and the outputs it cannot combine with, exit 1 with usage", async () => {
    const path = file("clean.yaml", CLEAN);
    for (const argv of [
      ["--config", path, "--format", "yaml"],
      ["--config", path, "--format", "json", "--envoy"],
      ["--config", path, "--format", "json", "--explain-routes"],
    ]) {
      const { code, stdout, stderr } = await run(argv);
      expect(code, argv.join(" ")).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toContain("usage: portcullis check-config");
    }
  });
});

describe("check-config --strict", () => {
  it("fails a config with warnings, saying why, in text and in JSON", async () => {
    const path = file("strict-warned.yaml", WARNED);
    const text = await run(["--config", path, "--strict"]);
    expect(text.code).toBe(1);
    expect(text.stdout).toBe("");
    expect(text.stderr).toMatch(/^warning: providers\.demo\.allowInsecureHttp: /m);
    expect(text.stderr).toContain("1 warning(s); --strict refuses a config with warnings");
    const json = await run(["--config", path, "--strict", "--format", "json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, strict: true, errors: 0, warnings: 1 });
  });

  it("fails before printing the Envoy filter or the rule table", async () => {
    const path = file("strict-envoy.yaml", WARNED);
    for (const output of ["--envoy", "--explain-routes"]) {
      const { code, stdout } = await run(["--config", path, "--strict", output]);
      expect(code).toBe(1);
      expect(stdout).toBe("");
    }
  });

  it("passes a config without warnings, exit 0", async () => {
    const { code, stdout } = await run(["--config", file("strict-clean.yaml", CLEAN), "--strict"]);
    expect(code).toBe(0);
    expect(stdout).toContain("warnings: 0");
  });
});
