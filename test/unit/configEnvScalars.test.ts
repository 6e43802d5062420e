// An integer or boolean key written as `"${NAME}"` takes the variable's value as a number or
// boolean (check-config and serve load the file the same way); a variable holding anything else is
// reported at the key path, naming the variable and never quoting its value.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderJsonSchema } from "../../src/config/renderJsonSchema.ts";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-env-scalars-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const config = (identity: string) => `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api] }
routes:
  - { name: api, match: { path: /api }, auth: required }
identity: ${identity}
`;

let files = 0;
function load(identity: string, env: NodeJS.ProcessEnv): ConfigResult {
  files += 1;
  const path = join(dir, `config-${files}.yaml`);
  writeFileSync(path, config(identity));
  return loadCheckedConfig(path, env);
}
const problemsOf = (result: ConfigResult) => (result.ok ? [] : result.problems.map(formatIssue));

describe("integer and boolean keys from ${ENV}", () => {
  it("reads a variable holding a number in the key's range as that number", () => {
    const result = load('{ maxHeaderBytes: "${MAX_HEADER}" }', { MAX_HEADER: "8192" });
    expect(problemsOf(result)).toEqual([]);
    expect(result.ok && result.config.identity.maxHeaderBytes).toBe(8192);
  });

  it("reads true and false for a boolean key", () => {
    const on = load('{ forwardAuthorization: "${FORWARD}" }', { FORWARD: "true" });
    expect(on.ok && on.config.identity.forwardAuthorization).toBe(true);
    const off = load('{ context: { enabled: "${CONTEXT}" } }', { CONTEXT: "false" });
    expect(off.ok && off.config.identity.context.enabled).toBe(false);
  });

  it("refuses a value that is not a plain decimal integer, naming the key and the variable but not the value", () => {
    for (const held of ["8k", " 4096", "0x1000", "4096.0", "", "1e4"]) {
      const result = load('{ maxHeaderBytes: "${MAX_HEADER}" }', { MAX_HEADER: held });
      expect(problemsOf(result), JSON.stringify(held)).toEqual([
        "identity.maxHeaderBytes: must be an integer (from environment variable MAX_HEADER)",
      ]);
    }
  });

  it("refuses a number outside the key's range with the range and the variable", () => {
    const result = load('{ maxHeaderBytes: "${MAX_HEADER}" }', { MAX_HEADER: "99999" });
    expect(problemsOf(result)).toEqual([
      "identity.maxHeaderBytes: must be 256..16384 (from environment variable MAX_HEADER)",
    ]);
  });

  it("refuses yes, 1 and TRUE for a boolean key", () => {
    for (const held of ["yes", "1", "TRUE"]) {
      const result = load('{ forwardAuthorization: "${FORWARD}" }', { FORWARD: held });
      expect(problemsOf(result)).toEqual([
        "identity.forwardAuthorization: must be true or false (from environment variable FORWARD)",
      ]);
    }
  });

  it("still refuses a number written as a string in the file itself", () => {
    const result = load('{ maxHeaderBytes: "8192" }', {});
    expect(problemsOf(result)).toEqual(['identity.maxHeaderBytes: must be an integer (got "8192")']);
  });

  it("reports an unset variable once, as for a string key", () => {
    const result = load('{ maxHeaderBytes: "${MAX_HEADER}" }', {});
    expect(problemsOf(result)).toEqual(["identity.maxHeaderBytes: environment variable MAX_HEADER is not set"]);
  });
});

describe("the JSON Schema of integer and boolean keys", () => {
  const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats.default(ajv);
  const validate = ajv.compile(renderJsonSchema());
  const base = {
    providers: { demo: { issuer: "https://idp.example.com", audiences: ["api"] } },
    routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
  };

  it("accepts a ${NAME} reference where an integer or boolean goes, and still refuses a quoted number", () => {
    expect(validate({ ...base, identity: { maxHeaderBytes: "${MAX_HEADER}", forwardAuthorization: "${F}" } })).toBe(
      true,
    );
    expect(validate({ ...base, identity: { maxHeaderBytes: 8192, forwardAuthorization: true } })).toBe(true);
    expect(validate({ ...base, identity: { maxHeaderBytes: "8192" } })).toBe(false);
    expect(validate({ ...base, identity: { maxHeaderBytes: 99999 } })).toBe(false);
  });
});
