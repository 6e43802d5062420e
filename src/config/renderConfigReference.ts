// Renders the configuration reference (Markdown tables: key path, type, required/default,
// description) from configSchema, so docs/configuration.md's reference cannot drift from the parser.
// One table per top-level key; output is deterministic (a test compares it with docs/configuration.md).

import { configSchema, type SchemaNode } from "./configSchema.ts";

interface Row {
  readonly path: string;
  readonly type: string;
  readonly presence: string;
  readonly description: string;
}

const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");

function inlineValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inlineValue).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${inlineValue(v)}`)
      .join(", ")}}`;
  }
  if (typeof value === "string") return /^[A-Za-z0-9_.\/-]+$/.test(value) ? value : JSON.stringify(value);
  return String(value);
}

function typeOf(node: SchemaNode): string {
  switch (node.kind) {
    case "string": {
      let type = node.enum
        ? node.enum.map((v) => `\`${v}\``).join(" \\| ")
        : node.format
          ? node.format.label
          : "string";
      if (node.pattern) type += ` matching \`${cell(node.pattern.source)}\``;
      return node.nullable ? `${type} or null` : type;
    }
    case "integer":
      return `integer ${node.min}..${node.max}`;
    case "boolean":
      return "boolean";
    case "list": {
      const list = `${node.nonEmpty ? "non-empty " : ""}list of ${typeOf(node.items)}`;
      const type = node.acceptSingle ? `${typeOf(node.items)}, or a list of them` : list;
      return node.nullable ? `${type} or null` : type;
    }
    case "object":
      return "mapping";
    case "map":
      return `mapping of \`${node.keyLabel}\` → ${node.values.kind === "object" ? "mapping" : typeOf(node.values)}`;
    case "custom":
      return node.typeLabel;
  }
}

function presenceOf(node: SchemaNode): string {
  if (node.required === true) return "required";
  if ("default" in node) return `default \`${inlineValue(node.default)}\``;
  return "optional";
}

function collect(node: SchemaNode, path: string, rows: Row[]): void {
  rows.push({ path, type: typeOf(node), presence: presenceOf(node), description: node.description });
  if (node.kind === "object") {
    for (const [key, child] of Object.entries(node.fields)) collect(child, `${path}.${key}`, rows);
  } else if (node.kind === "map" && node.values.kind === "object") {
    for (const [key, child] of Object.entries(node.values.fields))
      collect(child, `${path}.${node.keyLabel}.${key}`, rows);
  } else if (node.kind === "list" && node.items.kind === "object") {
    for (const [key, child] of Object.entries(node.items.fields)) collect(child, `${path}[].${key}`, rows);
  }
}

export function renderConfigReference(): string {
  const sections: string[] = [
    "<!-- Generated from src/config/configSchema.ts by `node src/config/writeConfigReference.ts`; do not edit by hand. -->",
  ];
  for (const [key, node] of Object.entries(configSchema.fields)) {
    const rows: Row[] = [];
    collect(node, key, rows);
    const lines = [
      `### \`${key}\``,
      "",
      cell(node.description),
      "",
      "| key | type | required / default | description |",
      "|---|---|---|---|",
      ...rows.map((r) => `| \`${r.path}\` | ${r.type} | ${r.presence} | ${cell(r.description)} |`),
    ];
    sections.push(lines.join("\n"));
  }
  return `${sections.join("\n\n")}\n`;
}
