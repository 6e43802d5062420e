// check-config says, for each ambiguous path shape switched on, what it lets reach an upstream; an
// unknown shape name is a problem with its key path.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-shapes-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function checkConfig(policy: string) {
  const path = join(dir, "portcullis.yaml");
  writeFileSync(
    path,
    `policy: ${policy}
providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
routes:
  - { name: admin, match: { path: /admin }, auth: required, require: { roles: [admin] } }
  - { name: rest, auth: required }
`,
  );
  let stdout = "";
  let stderr = "";
  const code = await runCheckConfig(["--config", path], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, stdout, stderr: stderr.split("\n").filter((line) => line !== "") };
}

describe("check-config and policy.allowPathShapes", () => {
  it("warns for each shape switched on what it exposes", async () => {
    const { code, stderr } = await checkConfig(
      "{ mode: rules, allowPathShapes: [pathParameters, encodedPercent, trailingDot, trailingWhitespace, invalidUtf8] }",
    );
    expect(code).toBe(0);
    expect(stderr).toEqual([
      "warning: policy.allowPathShapes: includes pathParameters: /admin;x/y reaches an upstream that strips path parameters (Tomcat, Jetty, Spring) as /admin/y while rules see /admin;x/y; make sure no upstream behind this Portcullis reads it that way, or remove it",
      "warning: policy.allowPathShapes: includes encodedPercent: /%2561dmin/x reaches an upstream that decodes twice (some proxies, servlet filters, frameworks) as /admin/x while rules see /%2561dmin/x; make sure no upstream behind this Portcullis reads it that way, or remove it",
      "warning: policy.allowPathShapes: includes trailingDot: /admin./y reaches an upstream that trims trailing dots (IIS, Windows file servers, Spring) as /admin/y while rules see /admin./y; make sure no upstream behind this Portcullis reads it that way, or remove it",
      "warning: policy.allowPathShapes: includes trailingWhitespace: /admin%20/y reaches an upstream that trims trailing whitespace (IIS, some frameworks) as /admin/y while rules see /admin%20/y; make sure no upstream behind this Portcullis reads it that way, or remove it",
      "warning: policy.allowPathShapes: includes invalidUtf8: /%C0%AE%C0%AE/admin reaches an upstream that decodes overlong UTF-8 (old servlet containers, IIS) as /../admin while rules see the escapes; make sure no upstream behind this Portcullis reads it that way, or remove it",
    ]);
  });

  it("warns about nothing when every shape is refused (the default)", async () => {
    const { code, stderr } = await checkConfig("{ mode: rules }");
    expect(code).toBe(0);
    expect(stderr).toEqual([]);
  });

  it("refuses a shape name it does not know, with its key path", async () => {
    const { code, stderr } = await checkConfig("{ mode: rules, allowPathShapes: [semicolons] }");
    expect(code).toBe(1);
    expect(stderr[0]).toMatch(
      /^error: policy\.allowPathShapes\[0\]: must be one of pathParameters, encodedPercent, trailingDot, trailingWhitespace, invalidUtf8 \(got "semicolons"\)$/,
    );
  });
});
