// Every stable denial code is documented in the README's table with its status, and the table
// names no code that does not exist.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DENIALS } from "../../src/core/DenialCode.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const block = readme.slice(readme.indexOf("<!-- denial-codes:start -->"), readme.indexOf("<!-- denial-codes:end -->"));
const documented = new Map(
  [...block.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])] as const),
);

describe("denial codes", () => {
  it("documents every code with the status it is answered with", () => {
    for (const [code, spec] of Object.entries(DENIALS)) {
      expect(documented.get(code), `README denial table row for ${code}`).toBe(spec.status);
    }
  });

  it("documents no code the product does not have", () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(DENIALS).sort());
  });
});
