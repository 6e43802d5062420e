// What the workflows promise beyond what actionlint checks: every action pinned to a commit (a tag
// can be moved to other code) with its version beside it, releases only from v* tags after the whole
// suite, and the signing identity (id-token: write) and write access given to the release job alone.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

type Json = Record<string, any>;
const WORKFLOWS = fileURLToPath(new URL("../../.github/workflows/", import.meta.url));
const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"));
const read = (file: string) => readFileSync(join(WORKFLOWS, file), "utf8");
const release = parse(read("release.yaml")) as Json;

describe("workflow pins", () => {
  for (const file of files) {
    it(`${file}: every remote action is pinned to a full commit id, its version in a comment`, () => {
      const uses = [...read(file).matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)].map((m) => ({
        ref: m[1]!,
        rest: m[2]!,
      }));
      const loose = uses
        .filter((u) => !u.ref.startsWith("./"))
        .filter((u) => !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(u.ref) || !/^\s+# v\d+\.\d+\.\d+$/.test(u.rest))
        .map((u) => `${u.ref}${u.rest}`);
      expect(loose).toEqual([]);
    });
  }
});

describe("the release workflow", () => {
  it("runs on v* tags only", () => {
    expect(release["on"]).toEqual({ push: { tags: ["v*"] } });
  });

  it("releases only after the whole suite (ci.yaml) passed", () => {
    expect(release["jobs"].test.uses).toBe("./.github/workflows/ci.yaml");
    expect(release["jobs"].release.needs).toBe("test");
  });

  it("reads only, except the release job, which alone may sign (id-token) and write packages and releases", () => {
    expect(release["permissions"]).toEqual({ contents: "read" });
    for (const [name, job] of Object.entries(release["jobs"] as Record<string, Json>)) {
      if (name === "release") {
        expect(job["permissions"]).toEqual({ contents: "write", packages: "write", "id-token": "write" });
      } else {
        expect(job["permissions"]).toBeUndefined();
      }
    }
  });

  it("signs by digest what it pushes and what it attaches", () => {
    const text = read("release.yaml");
    expect(text).toMatch(/cosign sign --yes "\$IMAGE@\$\(cat out\/image\.digest\)"/);
    expect(text).toMatch(/cosign sign --yes "\$\{CHARTS#oci:\/\/\}\/portcullis@\$digest"/);
    expect(text).toMatch(/cosign sign-blob --yes --bundle/);
  });
});
