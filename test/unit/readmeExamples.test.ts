// The Portcullis configs shown in the README are valid: a reader who copies one gets a working file.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const configBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((block) => /^providers:/m.test(block) && /^routes:/m.test(block));

/** `${NAME}` placeholders stand for secrets from the environment; a long dummy stands in. */
function withSecrets(yaml: string): string {
  return yaml.replace(/\$\{[A-Z_]+\}/g, "s".repeat(40));
}

describe("README configuration examples", () => {
  it("has at least one complete example", () => {
    expect(configBlocks.length).toBeGreaterThan(0);
  });

  it.each(configBlocks.map((block, i) => [i, block] as const))(
    "example %i parses without problems once its secrets are set",
    (_i, block) => {
      const result = parseConfig(parse(withSecrets(block)));
      expect(result.ok ? [] : result.problems.map(formatIssue)).toEqual([]);
    },
  );
});

describe("examples/ configs", () => {
  it("examples/multi-tenant.yaml parses without problems once its secrets are set", () => {
    const text = readFileSync(new URL("../../examples/multi-tenant.yaml", import.meta.url), "utf8");
    const raw = parse(withSecrets(text));
    const result = parseConfig(raw);
    expect(result.ok ? [] : result.problems.map(formatIssue)).toEqual([]);
  });
});
