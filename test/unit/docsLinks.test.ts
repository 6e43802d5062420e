// Every relative link in the README, docs/, bench/README.md and deploy/'s pages leads somewhere: the
// file or folder exists, and a #anchor names a heading of the target page as GitHub renders it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { headingAnchors } from "../harness/headingAnchors.ts";
import { documentationPages, fencedBlocks, ROOT } from "../harness/markdownBlocks.ts";

/** Markdown text without fenced blocks and inline code spans, where link syntax means nothing. */
function prose(markdown: string): string {
  let text = markdown;
  for (const block of fencedBlocks(markdown)) text = text.replace(block.text.trimEnd(), "");
  const lines = text.split("\n").filter((l) => !/^ *(`{3,}|~{3,})/.test(l));
  return lines.join("\n").replace(/`[^`\n]*`/g, "");
}

/** Link targets: inline `[text](target)` / `![alt](target)` and reference definitions `[x]: target`. */
export function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...references];
}

/** Why a link from `page` to `target` leads nowhere, or null when it resolves. */
function brokenLink(page: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto: — not ours to check offline
  const [path = "", anchor] = target.split("#", 2) as [string, string | undefined];
  const file = path === "" ? join(ROOT, page) : normalize(join(ROOT, dirname(page), decodeURIComponent(path)));
  if (!file.startsWith(ROOT)) return `${target}: outside the checkout`;
  if (!existsSync(file)) return `${target}: no such file`;
  if (anchor === undefined || anchor === "") return null;
  if (statSync(file).isDirectory() || !file.endsWith(".md"))
    return `${target}: an anchor into a file that is not markdown`;
  return headingAnchors(readFileSync(file, "utf8")).has(decodeURIComponent(anchor))
    ? null
    : `${target}: no heading with that anchor`;
}

describe("links in the documentation", () => {
  it("finds the README, the docs pages, the benchmark's page and the deployment pages", () => {
    const pages = documentationPages();
    expect(pages).toEqual(
      expect.arrayContaining([
        "README.md",
        "docs/configuration.md",
        "docs/architecture.md",
        "docs/operations.md",
        "docs/security.md",
        "docs/idps/README.md",
        "bench/README.md",
        "deploy/helm/portcullis/README.md",
      ]),
    );
  });

  it.each(documentationPages())("every relative link in %s resolves", (page) => {
    const broken = linkTargets(readFileSync(join(ROOT, page), "utf8"))
      .map((target) => brokenLink(page, target))
      .filter((problem) => problem !== null);
    expect(broken).toEqual([]);
  });

  it("reads anchors as GitHub makes them", () => {
    const anchors = headingAnchors(
      "# Top\n## Sessions in Redis (`session.store: redis`)\n## Caveats — read first\n## Top\n```\n# not a heading\n```\n",
    );
    expect([...anchors]).toEqual(["top", "sessions-in-redis-sessionstore-redis", "caveats--read-first", "top-1"]);
  });

  it("reports a missing file and a missing anchor, and ignores links in code", () => {
    expect(linkTargets("see [a](x.md) and `[b](y.md)` and\n```\n[c](z.md)\n```\n")).toEqual(["x.md"]);
    expect(brokenLink("README.md", "docs/nowhere.md")).toMatch(/no such file/);
    expect(brokenLink("README.md", "docs/security.md#nowhere")).toMatch(/no heading/);
    expect(brokenLink("README.md", "docs/security.md#in-one-table")).toBeNull();
    expect(brokenLink("docs/security.md", "#in-one-table")).toBeNull();
  });
});
