import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema, type SchemaNode } from "../../src/config/configSchema.ts";
import { renderConfigReference } from "../../src/config/renderConfigReference.ts";
import {
  CONFIG_REFERENCE_END,
  CONFIG_REFERENCE_START,
  CONFIG_REFERENCE_PATH,
  extractConfigReference,
  replaceConfigReference,
} from "../../src/config/writeConfigReference.ts";

const REGENERATE = "run `node src/config/writeConfigReference.ts` to regenerate it";

function leafPaths(node: SchemaNode, path: string, out: string[]): string[] {
  out.push(path);
  if (node.kind === "object") for (const [k, c] of Object.entries(node.fields)) leafPaths(c, `${path}.${k}`, out);
  if (node.kind === "map" && node.values.kind === "object") {
    for (const [k, c] of Object.entries(node.values.fields)) leafPaths(c, `${path}.${node.keyLabel}.${k}`, out);
  }
  if (node.kind === "list" && node.items.kind === "object") {
    for (const [k, c] of Object.entries(node.items.fields)) leafPaths(c, `${path}[].${k}`, out);
  }
  return out;
}

describe("config reference", () => {
  it("docs/configuration.md's config reference block matches the schema", () => {
    expect(existsSync(CONFIG_REFERENCE_PATH), `docs/configuration.md is missing; ${REGENERATE}`).toBe(true);
    const block = extractConfigReference(readFileSync(CONFIG_REFERENCE_PATH, "utf8"));
    expect(
      block,
      `docs/configuration.md has no ${CONFIG_REFERENCE_START} ... ${CONFIG_REFERENCE_END} block; ${REGENERATE}`,
    ).not.toBeNull();
    expect(block, `docs/configuration.md's config reference is out of date; ${REGENERATE}`).toBe(
      renderConfigReference(),
    );
  });

  it("documents every key of the schema with its required flag or default", () => {
    const reference = renderConfigReference();
    for (const [key, node] of Object.entries(configSchema.fields)) {
      for (const path of leafPaths(node, key, [])) expect(reference).toContain(`| \`${path}\` |`);
    }
    expect(reference).toContain("| `providers.<name>.jwksCooldownSeconds` | integer 0..3600 | default `30` |");
    expect(reference).toContain("| `routes[].match.path` | path starting with `/` or null | default `null` |");
  });

  it("every schema key has a one-line description", () => {
    const rows = renderConfigReference()
      .split("\n")
      .filter((l) => l.startsWith("| `"));
    for (const row of rows) expect(row.split(" | ").at(-1)?.replace(/ \|$/, "").trim().length, row).toBeGreaterThan(3);
  });

  it("replaces only the text between the markers", () => {
    const readme = `# Configuration\n\nintro\n\n${CONFIG_REFERENCE_START}\nold\n${CONFIG_REFERENCE_END}\n\n## After\n`;
    const updated = replaceConfigReference(readme, "new\n");
    expect(updated).toBe(
      `# Configuration\n\nintro\n\n${CONFIG_REFERENCE_START}\nnew\n${CONFIG_REFERENCE_END}\n\n## After\n`,
    );
    expect(extractConfigReference(updated)).toBe("new\n");
  });

  it("adds a heading and the markers to a page without them", () => {
    const updated = replaceConfigReference("# Portcullis\n", "ref\n");
    expect(updated).toBe(
      `# Portcullis\n\n## Configuration reference\n\n${CONFIG_REFERENCE_START}\nref\n${CONFIG_REFERENCE_END}\n`,
    );
    expect(extractConfigReference("# no markers\n")).toBeNull();
  });
});
