// The demo room's public surface: tests and the benchmark import src/demo only through a few named
// modules, so the demo's insides can be reshaped without touching them.

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PUBLIC = new Set([
  "src/demo/startDemo.ts",
  "src/demo/startDevIdp.ts",
  "src/demo/startEnvoy.ts",
  "src/demo/startEchoUpstream.ts",
  "src/demo/demoConfig.ts",
]);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|mjs|js)$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

describe("the demo's public surface", () => {
  it("is all tests and the benchmark import from src/demo", () => {
    const outside: string[] = [];
    for (const file of [...sources("test"), ...sources("bench")]) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*["']((?:\.\.\/)+src\/demo\/[^"']+)["']/g)) {
        const target = relative(ROOT, join(ROOT, file, "..", match[1] as string));
        if (!PUBLIC.has(target)) outside.push(`${file} imports ${target}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
