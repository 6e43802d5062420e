// The release workflow's own shell lines, run here on this checkout as the runner would run them:
// the tag check reads package.json's version, and the release notes are exactly the version's
// CHANGELOG.md section. (The pushes and signatures need ghcr.io and Sigstore; docs/releasing.md.)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const version = (JSON.parse(read("package.json")) as { version: string }).version;

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly run?: string;
}
const steps = (parse(read(".github/workflows/release.yaml")) as { jobs: { release: { steps: Step[] } } }).jobs.release
  .steps;

/** The one line of a step's script that starts with `command`. */
function lineOf(stepName: RegExp, command: string): string {
  const script = steps.find((s) => s.name !== undefined && stepName.test(s.name))?.run ?? "";
  const line = script.split("\n").find((l) => l.trimStart().startsWith(command));
  if (line === undefined) throw new Error(`no ${command} line in the step named ${stepName}`);
  return line.trim();
}

const sh = (script: string, env: Record<string, string> = {}) =>
  execFileSync("sh", ["-c", script], { cwd: REPO, encoding: "utf8", env: { PATH: process.env["PATH"], ...env } });

describe("the release workflow's shell steps", () => {
  it("the tag check reads package.json's version", () => {
    const line = lineOf(/^The tag names/, 'version="$(sed');
    expect(sh(`${line}\nprintf %s "$version"`)).toBe(version);
  });

  it("the release notes are the version's CHANGELOG.md section, without its heading or the next one", () => {
    const line = lineOf(/^GitHub release/, "awk").replace(/\s*>\s*out\/notes\.md$/, "");
    const notes = sh(line, { VERSION: version });
    const changelog = read("CHANGELOG.md");
    const start = changelog.indexOf(`## [${version}]`);
    const heading = changelog.indexOf("\n", start) + 1;
    const next = changelog.indexOf("\n## [", heading);
    expect(notes).toBe(changelog.slice(heading, next === -1 ? undefined : next + 1));
    expect(notes).toMatch(/^### Added$/m);
  });

  it("the release notes of a version CHANGELOG.md lacks are empty, which stops the release", () => {
    const line = lineOf(/^GitHub release/, "awk").replace(/\s*>\s*out\/notes\.md$/, "");
    expect(sh(line, { VERSION: "99.0.0" })).toBe("");
  });
});
