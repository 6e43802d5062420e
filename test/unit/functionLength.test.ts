// No function in src/ is over 80 lines unless the comment just before it says why ("long on
// purpose", "one function on purpose", …): long factories hide steps that deserve names.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const MAX_LINES = 80;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The comments right before a node (or before the statement that holds it), as one text. */
function leadingComments(source: ts.SourceFile, node: ts.Node): string {
  let holder: ts.Node = node;
  while (holder.parent !== undefined && !ts.isSourceFile(holder.parent) && !ts.isBlock(holder.parent)) {
    if (ts.isClassDeclaration(holder.parent) || ts.isObjectLiteralExpression(holder.parent)) break;
    holder = holder.parent;
  }
  const text = source.getFullText();
  const ranges = [
    ...(ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? []),
    ...(ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []),
  ];
  return ranges.map((r) => text.slice(r.pos, r.end)).join("\n");
}

/** Functions over the limit whose leading comment does not say why they are long. */
function unexplainedLongFunctions(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (last - first + 1 > MAX_LINES && !/\b(long|one function) on purpose\b/i.test(leadingComments(source, node)))
        found.push(`${relative(SRC, file)}:${first + 1} (${last - first + 1} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("function length in src/", () => {
  it(`no function is over ${MAX_LINES} lines unless a comment before it says why it is long on purpose`, () => {
    expect(sourceFiles(SRC).flatMap(unexplainedLongFunctions)).toEqual([]);
  });

  it("the check finds a long function without a reason (it can fail)", () => {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const dir = fileURLToPath(new URL("../../.cache/test/", import.meta.url));
    const file = join(dir, "longFunctionSample.ts");
    ts.sys.writeFile(file, `export function sample(): void {\n${body}\n}\n`);
    expect(unexplainedLongFunctions(file)).toHaveLength(1);
    ts.sys.writeFile(file, `// Long on purpose: a sample.\nexport function sample(): void {\n${body}\n}\n`);
    expect(unexplainedLongFunctions(file)).toEqual([]);
  });
});
