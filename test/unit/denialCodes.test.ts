// Every stable denial code is documented in docs/errors.md (generated from the error registry) with
// the status it is answered with, and the page names no code that does not exist.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, codesOn } from "../../src/errors/ErrorCode.ts";
import { ERROR_REFERENCE_PATH } from "../../src/errors/writeErrorReference.ts";

const page = readFileSync(ERROR_REFERENCE_PATH, "utf8");
const documented = new Map(
  [...page.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|[^|]*\|([^|]*)\|/gm)].map(
    (m) => [m[1]!, { status: Number(m[2]), surfaces: m[3]!.trim().split(", ") }] as const,
  ),
);

describe("denial codes", () => {
  it("documents every code with the status it is answered with", () => {
    for (const code of Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>) {
      expect(documented.get(code)?.status, `docs/errors.md row for ${code}`).toBe(ERROR_CODES[code].status);
    }
  });

  it("documents every Check denial code as answered by the Check", () => {
    for (const code of codesOn("check")) expect(documented.get(code)?.surfaces, code).toContain("Check");
  });

  it("documents no code the product does not have", () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
