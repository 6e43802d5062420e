// What a release is made of agrees with itself: one semantic version for the npm package, the Helm
// chart and the image tag it defaults to; a changelog section for it; the licence the package
// declares; a package that carries neither the demo's IdP nor the checkout's provisioning; and a
// version line naming the commit a checkout runs.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

interface PackageJson {
  readonly version: string;
  readonly license: string;
  readonly files: readonly string[];
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
}
const pkg = JSON.parse(read("package.json")) as PackageJson;
const chart = parse(read("deploy/helm/portcullis/Chart.yaml")) as Record<string, unknown>;

// semver.org's own regular expression (2.0.0), without build metadata, which Helm and OCI tags refuse.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;

describe("one version per release", () => {
  it("package.json's version is a semantic version", () => {
    expect(pkg.version).toMatch(SEMVER);
  });

  it("the Helm chart's version and appVersion are package.json's", () => {
    expect({ version: chart["version"], appVersion: chart["appVersion"] }).toEqual({
      version: pkg.version,
      appVersion: pkg.version,
    });
  });

  it("CHANGELOG.md keeps an Unreleased section and one for the current version, newest first", () => {
    const sections = [...read("CHANGELOG.md").matchAll(/^## \[([^\]]+)\]/gm)].map((m) => m[1]);
    expect(sections[0]).toBe("Unreleased");
    expect(sections).toContain(pkg.version);
  });
});

describe("licence", () => {
  it("LICENSE holds the Apache License 2.0 that package.json declares", () => {
    expect(pkg.license).toBe("Apache-2.0");
    const text = read("LICENSE");
    expect(text).toContain("Apache License\n                           Version 2.0, January 2004");
    expect(text).toContain("END OF TERMS AND CONDITIONS");
  });
});

describe("the npm package's contents", () => {
  it("the demo's identity provider is a development dependency only", () => {
    expect(pkg.dependencies["oidc-provider"]).toBeUndefined();
    expect(pkg.devDependencies["oidc-provider"]).toBeDefined();
  });

  it("ships compiled code, not the sources or the checkout's provisioning script", () => {
    expect(pkg.files).toContain("dist");
    expect(pkg.files).not.toContain("src");
    expect(pkg.files).not.toContain("bin/provision.sh");
  });
});

describe("portcullis --version in a checkout", () => {
  it("names the checked-out commit and the Node running it", () => {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO, encoding: "utf8" }).trim();
    const out = execFileSync(process.execPath, ["src/cli/main.ts", "--version"], { cwd: REPO, encoding: "utf8" });
    expect(out).toBe(`portcullis ${pkg.version} (commit ${head.slice(0, 12)}) node ${process.version}\n`);
  });
});
