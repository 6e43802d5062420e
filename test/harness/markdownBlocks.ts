// Reads the project's documentation for the tests that keep it honest: the markdown pages (README.md,
// docs/**, bench/README.md, deploy/**) and the fenced code blocks in them, indented ones (inside list items)
// included, with their info string (```sh step=start → lang "sh", attributes {step: "start"}).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;

export interface FencedBlock {
  /** The first word of the info string: `yaml`, `sh`, `text`, or "" for none. */
  readonly lang: string;
  /** `key=value` words after the language (a bare word is `key: ""`). */
  readonly attributes: Readonly<Record<string, string>>;
  /** The block's text, its fence's indentation removed, ending with a newline. */
  readonly text: string;
  /** 1-based line of the opening fence, for failure messages. */
  readonly line: number;
}

/** Every fenced block (``` or ~~~) in a markdown text, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split("\n");
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent = "", fence = "", info = ""] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      const close = /^ *(`{3,}|~{3,}) *$/.exec(line);
      if (close !== null && close[1]![0] === fence[0] && close[1]!.length >= fence.length) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    const [lang = "", ...words] = info.trim().split(/\s+/);
    const attributes = Object.fromEntries(
      words
        .filter((w) => w !== "")
        .map((w) => (w.includes("=") ? [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)] : [w, ""])),
    );
    blocks.push({ lang, attributes, text: body.length === 0 ? "" : `${body.join("\n")}\n`, line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The documentation pages the tests check, as paths relative to the checkout. */
export function documentationPages(): string[] {
  const underDocs = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? underDocs(join(dir, entry.name))
        : entry.name.endsWith(".md")
          ? [join(dir, entry.name)]
          : [],
    );
  return ["README.md", ...underDocs("docs").sort(), "bench/README.md", ...underDocs("deploy").sort()];
}

export function readPage(page: string): string {
  return readFileSync(join(ROOT, page), "utf8");
}

/** Blocks of `yaml` that are whole Portcullis configs (they have `providers:` and `routes:` at the top level). */
export function portcullisConfigBlocks(): { readonly name: string; readonly text: string }[] {
  return documentationPages().flatMap((page) =>
    fencedBlocks(readPage(page))
      .filter((b) => b.lang === "yaml" && /^providers:/m.test(b.text) && /^routes:/m.test(b.text))
      .map((b) => ({ name: `${page}:${b.line}`, text: b.text })),
  );
}

/** A page's runnable steps: `sh` blocks with a `step=<name>` attribute, each with the `text output` block that follows it, if any. */
export function pageSteps(
  markdown: string,
): { readonly name: string; readonly script: string; readonly output: string | null }[] {
  const blocks = fencedBlocks(markdown);
  return blocks.flatMap((block, i) => {
    const name = block.attributes["step"];
    if (block.lang !== "sh" || name === undefined) return [];
    const next = blocks[i + 1];
    const output = next !== undefined && next.lang === "text" && "output" in next.attributes ? next.text : null;
    return [{ name, script: block.text, output }];
  });
}

/**
 * Lines of `expected` the `actual` output lacks. Each line of `expected` must match a line of
 * `actual`, in order; `…` stands for any text, and a line that is only `…` for any lines. Lines are
 * compared trimmed and without a trailing comma (JSON members move about).
 */
export function missingOutputLines(expected: string, actual: string): string[] {
  const tidy = (line: string) => line.trim().replace(/,$/, "");
  const have = actual.split("\n").map(tidy);
  const missing: string[] = [];
  let from = 0;
  for (const line of expected.split("\n").map(tidy)) {
    if (line === "" || line === "…") continue;
    const pattern = new RegExp(
      `^${line
        .split("…")
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    const at = have.findIndex((candidate, index) => index >= from && pattern.test(candidate));
    if (at < 0) missing.push(line);
    else from = at + 1;
  }
  return missing;
}
