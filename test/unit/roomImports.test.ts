// The rooms of src/ and which may import which, read from docs/architecture.md's room table so the
// page and the code cannot disagree: arrows point one way, entry points → app → transports → core →
// domain rooms → infra. A file's room is its first folder under src/; an import that leaves its room
// must go to a room its row allows.
import { readdirSync, readFileSync } from "node:fs";
import { join, dirname, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

const ARCHITECTURE = fileURLToPath(new URL("../../docs/architecture.md", import.meta.url));

/** Words the table uses for groups of rooms (defined in the paragraph under it). */
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  "domain rooms": ["login", "oidc", "session", "identity", "errors", "clock", "config"],
  infra: ["observability"],
  "nothing of ours": [],
  "everything below": ["*"],
};
/** The room table of docs/architecture.md: folder → the rooms it may import. */
function readRoomTable(): Record<string, readonly string[]> {
  const table: Record<string, readonly string[]> = {};
  for (const row of readFileSync(ARCHITECTURE, "utf8").matchAll(/^\| `src\/([a-z]+)\/` \|.*\| ([^|]+) \|$/gm)) {
    const allowed = row[2]!.split(",").flatMap((word) => GROUPS[word.trim()] ?? [word.trim()]);
    table[row[1]!] = allowed;
  }
  return table;
}

const MAY_IMPORT = readRoomTable();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

const roomOf = (file: string) => relative(SRC, file).split("/")[0] ?? "";

interface Crossing {
  readonly from: string;
  readonly to: string;
}

/** Every relative import (static or dynamic, `import type` included) that leaves its file's room. */
function crossings(file: string): Crossing[] {
  const text = readFileSync(file, "utf8");
  const found: Crossing[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
    const target = normalize(join(dirname(file), match[1]!));
    if (roomOf(target) !== roomOf(file)) found.push({ from: relative(SRC, file), to: relative(SRC, target) });
  }
  return found;
}

const files = sourceFiles(SRC);

describe("rooms of src/", () => {
  it("docs/architecture.md has a row for each of the rooms", () => {
    expect(Object.keys(MAY_IMPORT).length).toBeGreaterThanOrEqual(14);
  });

  it("every folder under src/ is a room with a row in the import table", () => {
    const rooms = new Set(files.map(roomOf));
    const unknown = [...rooms].filter((room) => !(room in MAY_IMPORT));
    expect(unknown).toEqual([]);
  });

  for (const [room, allowed] of Object.entries(MAY_IMPORT)) {
    if (allowed.includes("*")) continue;
    it(`${room}/ imports only ${allowed.length === 0 ? "nothing of ours" : allowed.join(", ")}`, () => {
      const breaches = files
        .filter((file) => roomOf(file) === room)
        .flatMap(crossings)
        .filter((c) => !allowed.includes(c.to.split("/")[0] ?? ""))
        .map((c) => `${c.from} -> ${c.to}`);
      expect(breaches).toEqual([]);
    });
  }

  it("the command line stays small: src/cli/ under 600 lines", () => {
    const lines = files
      .filter((f) => roomOf(f) === "cli")
      .reduce((n, f) => n + readFileSync(f, "utf8").split("\n").length, 0);
    expect(lines).toBeLessThan(600);
  });

  it("a file over 350 lines says on its first lines why it is long", () => {
    const unexplained = files.filter((file) => {
      const text = readFileSync(file, "utf8");
      if (text.split("\n").length <= 350) return false;
      const lines = text.split("\n");
      const headerEnd = lines.findIndex((line) => !line.startsWith("//"));
      return !/\b(long|lines)\b/i.test(lines.slice(0, headerEnd).join("\n"));
    });
    expect(unexplained.map((f) => relative(SRC, f))).toEqual([]);
  });
});
