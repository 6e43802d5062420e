// The Portcullis configs shown in the README and docs/ are valid: a reader who copies one gets a working file.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { portcullisConfigBlocks } from "../harness/markdownBlocks.ts";

const configBlocks = portcullisConfigBlocks();

/** `${NAME}` placeholders stand for secrets from the environment; a long dummy stands in. */
function withSecrets(yaml: string): string {
  return yaml.replace(/\$\{[A-Z_]+\}/g, "s".repeat(40));
}

describe("configuration examples in the README and docs/", () => {
  it("has complete examples in the README's quickstart and in docs/configuration.md", () => {
    const pages = configBlocks.map((b) => b.name.split(":")[0]);
    expect(pages).toContain("README.md");
    expect(pages).toContain("docs/configuration.md");
  });

  it.each(configBlocks.map((block) => [block.name, block.text] as const))(
    "%s parses without problems once its secrets are set",
    (_name, block) => {
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
