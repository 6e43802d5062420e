// The README stays the short front page: what Portcullis is, the two commands (.ci/run runs the
// test one), the quickstart and the links, in at most about 15 KB; the depth lives in docs/.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fencedBlocks, readPage, ROOT } from "../harness/markdownBlocks.ts";

const readme = readPage("README.md");
const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);

describe("the README", () => {
  it("stays within about 15 KB", () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(15 * 1024);
  });

  it("has the two commands first: one runs the demo, one the whole test suite, which CI runs", () => {
    expect(headings[0]).toBe("The two commands");
    const section = readme.slice(readme.indexOf("## The two commands"));
    const commands = (fencedBlocks(section)[0]?.text ?? "")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => line.replace(/\s+#.*$/, ""));
    expect(commands).toEqual(["bin/portcullis demo", "bin/test"]);
    expect(readFileSync(join(ROOT, ".ci/run"), "utf8")).toMatch(/^exec bin\/test$/m);
  });

  it("has the quickstart, the features, the comparison and the links to docs/", () => {
    expect(headings).toEqual([
      "The two commands",
      "Protect your API in 15 minutes",
      "Features",
      "How it compares",
      "Documentation",
    ]);
    for (const page of [
      "docs/quickstart-keycloak-envoy.md",
      "docs/quickstart-keycloak-istio.md",
      "docs/configuration.md",
      "docs/architecture.md",
      "docs/operations.md",
      "docs/security.md",
      "docs/errors.md",
      "docs/idps/README.md",
      "docs/development.md",
      "bench/README.md",
    ])
      expect(readme).toContain(`](${page})`);
  });
});
