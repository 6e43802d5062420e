// Renders configSchema as a JSON Schema (draft-07) so that editors validate and complete config
// files: the YAML language server (VS Code's YAML extension) and Helm validate with draft-07, so the
// schema says so and keeps to its keywords (`definitions`, no `$ref` beside other keywords). Each
// string format and custom node carries its own sub-schema beside its parser; cross-field rules
// stay in check-config only.

import {
  configSchema,
  type ListNode,
  type MapNode,
  type ObjectNode,
  type SchemaNode,
  type StringNode,
} from "./configSchema.ts";
import type { StringFormat } from "./configFormats.ts";
import type { JsonSchema } from "./JsonSchema.ts";

export type { JsonSchema } from "./JsonSchema.ts";

const ENV_REFERENCE = "#/definitions/envReference";

/** The JSON Schema of one string format, without the `${NAME}` alternative. */
export function stringFormatSchema(format: StringFormat<unknown>): JsonSchema {
  return format.jsonSchema;
}

const ENV_REFERENCE_DEF: JsonSchema = {
  description:
    'A string holding `${NAME}`: Portcullis replaces it with the environment variable NAME before checking the value, so editors cannot check its format (`$${` writes a literal `${`). An integer or true/false key takes `"${NAME}"` too: the variable must then hold a decimal integer in the key\'s range, or true or false.',
  type: "string",
  pattern: String.raw`\$\{[A-Za-z_][A-Za-z0-9_]*\}`,
};

// ---- nodes ----------------------------------------------------------------------------------------

/** Merges keyword sets; a keyword set twice is a bug in this file, not a config problem. */
function merge(...parts: JsonSchema[]): JsonSchema {
  const out: JsonSchema = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      if (key in out && JSON.stringify(out[key]) !== JSON.stringify(value))
        throw new Error(`renderJsonSchema: conflicting "${key}"`);
      out[key] = value;
    }
  }
  return out;
}

/** True when the strict schema already accepts a `${NAME}` reference (a plain or merely non-blank string). */
function acceptsEnvReference(strict: JsonSchema): boolean {
  const keys = Object.keys(strict).filter((k) => k !== "type");
  if (keys.length === 0) return true;
  return (
    keys.length === 1 && typeof strict["pattern"] === "string" && new RegExp(strict["pattern"], "u").test("${NAME}")
  );
}

function stringSchema(node: StringNode): JsonSchema {
  const strict = merge(
    { type: "string" },
    node.enum ? { enum: [...node.enum] } : {},
    node.pattern ? { pattern: node.pattern.source } : {},
    node.format ? stringFormatSchema(node.format) : {},
  );
  // Every string value goes through `${NAME}` substitution before it is checked.
  const alternatives = acceptsEnvReference(strict) ? [strict] : [strict, { $ref: ENV_REFERENCE }];
  if (node.nullable === true) {
    if (alternatives.length === 1) return { type: ["string", "null"], ...withoutType(strict) };
    alternatives.push({ type: "null" });
  }
  return alternatives.length === 1 ? strict : { anyOf: alternatives };
}

function withoutType(schema: JsonSchema): JsonSchema {
  const { type: _type, ...rest } = schema;
  return rest;
}

function listSchema(node: ListNode): JsonSchema {
  const items = renderNode(node.items, false);
  const array: JsonSchema = {
    type: node.nullable === true ? ["array", "null"] : "array",
    ...(node.nonEmpty === true ? { minItems: 1 } : {}),
    ...(node.unique === true ? { uniqueItems: true } : {}),
    items,
  };
  return node.acceptSingle === true ? { anyOf: [items, array] } : array;
}

/** True when `{}` (and so null) parses: no required key, here or in a nested section. */
function acceptsEmpty(node: ObjectNode): boolean {
  if (node.required === true) return false;
  return Object.values(node.fields).every(
    (child) => child.required !== true && (child.kind !== "object" || acceptsEmpty(child)),
  );
}

function objectSchema(node: ObjectNode, root: boolean): JsonSchema {
  const required = Object.entries(node.fields)
    .filter(([, child]) => child.required === true)
    .map(([key]) => key);
  const properties: JsonSchema = {};
  for (const [key, child] of Object.entries(node.fields)) properties[key] = renderNode(child, false);
  return {
    // An empty optional section (`identity:` with everything commented out) reads as null and means {}.
    type: root || !acceptsEmpty(node) ? "object" : ["object", "null"],
    additionalProperties: false,
    ...(required.length > 0 ? { required } : {}),
    properties,
  };
}

function mapSchema(node: MapNode): JsonSchema {
  // Keys are never substituted, so they get the strict format without the `${NAME}` alternative.
  const keys = merge(
    { type: "string" },
    node.keyPattern ? { pattern: node.keyPattern.source } : {},
    node.keyFormat ? stringFormatSchema(node.keyFormat) : {},
  );
  return {
    type: ["object", "null"],
    propertyNames: withoutType(keys),
    additionalProperties: renderNode(node.values, false),
  };
}

function descriptionOf(node: SchemaNode): string {
  const note = node.kind === "string" && node.format ? node.format.schemaNote : undefined;
  return note === undefined ? node.description : `${node.description} ${note}`;
}

/** Every `definitions` entry custom nodes bring, in schema order; one name given two definitions is a bug. */
function collectDefs(node: SchemaNode, defs: JsonSchema): void {
  if (node.kind === "custom") {
    for (const [name, def] of Object.entries(node.jsonSchemaDefs ?? {})) {
      if (name in defs && defs[name] !== def)
        throw new Error(`renderJsonSchema: two definitions of definitions/${name}`);
      defs[name] = def;
    }
  } else if (node.kind === "object") {
    for (const child of Object.values(node.fields)) collectDefs(child, defs);
  } else if (node.kind === "list") {
    collectDefs(node.items, defs);
  } else if (node.kind === "map") {
    collectDefs(node.values, defs);
  }
}

function renderNode(node: SchemaNode, root: boolean): JsonSchema {
  const annotations: JsonSchema = {
    description: descriptionOf(node),
    ...("default" in node ? { default: node.default } : {}),
    ...(node.secret === true ? { writeOnly: true } : {}),
  };
  switch (node.kind) {
    case "string":
      return { ...annotations, ...stringSchema(node) };
    // An integer or boolean key may be written `${NAME}` too: check-config reads the variable as the value.
    case "integer":
      return {
        ...annotations,
        anyOf: [{ type: "integer", minimum: node.min, maximum: node.max }, { $ref: ENV_REFERENCE }],
      };
    case "boolean":
      return { ...annotations, anyOf: [{ type: "boolean" }, { $ref: ENV_REFERENCE }] };
    case "list":
      return { ...annotations, ...listSchema(node) };
    case "object":
      return { ...annotations, ...objectSchema(node, root) };
    case "map":
      return { ...annotations, ...mapSchema(node) };
    case "custom":
      return { ...annotations, ...node.jsonSchema };
  }
}

export function renderJsonSchema(): JsonSchema {
  const body = renderNode(configSchema, true);
  const defs: JsonSchema = { envReference: ENV_REFERENCE_DEF };
  collectDefs(configSchema, defs);
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $comment: "Generated from src/config/configSchema.ts by `node src/config/writeJsonSchema.ts`; do not edit by hand.",
    title: "Portcullis configuration",
    ...body,
    description: `${configSchema.description} Editors check each key's shape; \`portcullis check-config\` also checks the rules between keys (e.g. \`redirectUri\` with \`clientId\`, unique route names, known provider names, one path form per route, reachable routes).`,
    definitions: defs,
  };
}
