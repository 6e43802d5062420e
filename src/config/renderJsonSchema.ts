// Renders configSchema as a JSON Schema (draft 2020-12) so that editors validate and complete config
// files. Each string format and custom node maps to a hand-written sub-schema here; an unknown one
// throws, so a new format cannot silently go unchecked. Cross-field rules stay in check-config only.
// Declared as 2020-12 but written with keywords draft-07 tools know too: the YAML language server
// (VS Code's YAML extension) still validates with draft 07.

import {
  configSchema,
  type CustomNode,
  type ListNode,
  type MapNode,
  type ObjectNode,
  type SchemaNode,
  type StringNode,
} from "./configSchema.ts";
import {
  claimPath,
  contextSource,
  cookieDomain,
  cookieName,
  headerName,
  HOP_BY_HOP_HEADERS,
  hostPattern,
  httpUrl,
  issuerUrl,
  listenAddress,
  nonBlank,
  redirectTarget,
  removableHeaderName,
  RESERVED_HEADERS,
  routePath,
  redisUrl,
  sealingSecret,
  webOrigin,
  type StringFormat,
} from "./configFormats.ts";
import { parseClaimCheck } from "./parseClaimCheck.ts";
import { parseNameSet } from "./parseNameSet.ts";
import { httpMethod, routeExactPath, routeGlob, routeRegex } from "./routeFormats.ts";
import { parseCaseSensitive, parseMaxAge } from "./routeSchema.ts";
import { exportHeaderName, otlpEndpoint, parseSampleRatio } from "./tracingSchema.ts";

export type JsonSchema = { [keyword: string]: unknown };

const ENV_REFERENCE = "#/$defs/envReference";
const CLAIM_CHECK = "#/$defs/claimCheck";

// ---- string formats -------------------------------------------------------------------------------
// Patterns follow each format's parse() as closely as a regex can; `note` says what only the code checks.

const PORT = "(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const PORT_NO_LEADING_ZERO =
  "(?:0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const SCHEME = "[Hh][Tt][Tt][Pp][Ss]?://";
const AUTHORITY = String.raw`[^/?#@\s\\]+`;
const NON_BLANK = String.raw`^\S(?:[\s\S]*\S)?$`;
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
// A path character as a route's exact path or glob may hold: no query, fragment, space or backslash,
// no non-ASCII (requests are matched percent-encoded), and escapes only as `%` + two upper-case hex
// digits that do not encode a character the normaliser decodes (unreserved, sub-delims but ";", ":", "@").
const ESCAPE = "%(?!2[146-9A-E]|3[0-9AD]|4[0-9A-F]|5[0-9A]|5F|6[1-9A-F]|7[0-9A]|7E)[0-9A-F]{2}";
const NOT_DOT_SEGMENT = String.raw`(?!\.{1,2}(?:/|$))`;
const exactSegment = `${NOT_DOT_SEGMENT}(?:[^/?#\\s\\\\%\\u0080-\\uFFFF]|${ESCAPE})+`;
const globSegment = `(?:\\*\\*?|${NOT_DOT_SEGMENT}(?:[^/?#\\s\\\\%*\\u0080-\\uFFFF]|${ESCAPE})+)`;
const segments = (segment: string): string => `^/(?:${segment}(?:/${segment})*/?)?$`;

const HOP_BY_HOP_AND_RESERVED = [...HOP_BY_HOP_HEADERS, ...RESERVED_HEADERS];

const urlSchema = (allowQuery: boolean): JsonSchema => ({
  type: "string",
  format: "uri",
  pattern: allowQuery ? `^${SCHEME}${AUTHORITY}(?:[/?][^#\\s\\\\]*)?$` : `^${SCHEME}${AUTHORITY}(?:/[^?#\\s\\\\]*)?$`,
});

interface FormatSchema {
  readonly schema: JsonSchema;
  /** What check-config checks beyond the schema, appended to the description. */
  readonly note?: string;
}

const FORMAT_SCHEMAS = new Map<StringFormat, FormatSchema>([
  [listenAddress, { schema: { type: "string", pattern: `^(?:\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):${PORT}$` } }],
  [
    otlpEndpoint,
    {
      schema: { type: "string", format: "uri", pattern: `^${SCHEME}${AUTHORITY}/[^?#\\s\\\\][^#\\s\\\\]*$` },
      note: "check-config also parses it as a URL.",
    },
  ],
  [exportHeaderName, { schema: { type: "string", pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$" } }],
  [
    issuerUrl,
    {
      schema: urlSchema(false),
      note: "check-config also parses it as a URL and refuses `http://` without `allowInsecureHttp`.",
    },
  ],
  [httpUrl, { schema: urlSchema(true), note: "check-config also parses it as a URL." }],
  [
    headerName,
    { schema: { type: "string", pattern: "^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$", not: { enum: HOP_BY_HOP_AND_RESERVED } } },
  ],
  [
    removableHeaderName,
    {
      schema: {
        type: "string",
        pattern: "^[a-z0-9!#$%&'*+.^_`|~-]{1,100}$",
        not: { enum: ["host", "authorization", "cookie"] },
      },
    },
  ],
  [hostPattern, { schema: { type: "string", maxLength: 253, pattern: `^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*$` } }],
  [
    routePath,
    { schema: { type: "string", pattern: `^(?:/|(?:/${NOT_DOT_SEGMENT}(?:[^/?#\\s%\\u0080-\\uFFFF]|${ESCAPE})+)+)$` } },
  ],
  [routeExactPath, { schema: { type: "string", pattern: segments(exactSegment) } }],
  [routeGlob, { schema: { type: "string", pattern: segments(globSegment) } }],
  [
    routeRegex,
    {
      schema: { type: "string", maxLength: 512, pattern: String.raw`^\^(?:[^\\]|\\[\s\S])*\$$` },
      note: "check-config also compiles it.",
    },
  ],
  [
    httpMethod,
    {
      schema: {
        type: "string",
        pattern: "^[A-Za-z][A-Za-z0-9_-]{0,31}$",
        examples: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      },
    },
  ],
  [nonBlank, { schema: { type: "string", pattern: NON_BLANK } }],
  [claimPath, { schema: { type: "string", pattern: NON_BLANK } }],
  [
    contextSource,
    {
      schema: {
        type: "string",
        anyOf: [
          { enum: ["sub", "email", "scopes", "roles", "exp", "client_id"] },
          { pattern: String.raw`^claim:\S(?:[\s\S]*\S)?$` },
        ],
      },
    },
  ],
  [
    webOrigin,
    {
      schema: {
        type: "string",
        format: "uri",
        pattern:
          `^(?:https://ORIGIN_HOST(?::(?!443$)${PORT_NO_LEADING_ZERO})?|http://ORIGIN_HOST(?::(?!80$)${PORT_NO_LEADING_ZERO})?)$`.replaceAll(
            "ORIGIN_HOST",
            String.raw`(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])`,
          ),
      },
      note: "check-config also requires it to equal the URL's normalised origin (e.g. IPv6 and IPv4 short forms).",
    },
  ],
  [
    redirectTarget,
    {
      schema: { type: "string", anyOf: [{ pattern: String.raw`^/(?!/)[^\\]*$` }, urlSchema(true)] },
      note: "check-config also parses a URL as a URL.",
    },
  ],
  [cookieName, { schema: { type: "string", pattern: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,64}$" } }],
  [
    cookieDomain,
    {
      schema: {
        type: "string",
        maxLength: 253,
        pattern: String.raw`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`,
      },
    },
  ],
  [sealingSecret, { schema: { type: "string", minLength: 32 } }],
  [
    redisUrl,
    {
      schema: { type: "string", pattern: "^rediss?://[^/@?#]+(/(0|[1-9][0-9]{0,3}))?$" },
      note: "check-config also parses it as a URL.",
    },
  ],
]);

/** The JSON Schema of one string format, without the `${NAME}` alternative. */
export function stringFormatSchema(format: StringFormat): JsonSchema {
  const known = FORMAT_SCHEMAS.get(format);
  if (known === undefined)
    throw new Error(`renderJsonSchema: no JSON Schema for the string format "${format.label}"; add one`);
  return known.schema;
}

// ---- custom nodes ---------------------------------------------------------------------------------

const names: JsonSchema = {
  type: "array",
  minItems: 1,
  uniqueItems: true,
  items: { type: "string", pattern: NON_BLANK },
};

const CUSTOM_SCHEMAS = new Map<CustomNode["parse"], JsonSchema>([
  [
    parseNameSet,
    {
      anyOf: [
        { type: "null" },
        names,
        {
          type: "object",
          additionalProperties: false,
          minProperties: 1,
          properties: { anyOf: names, allOf: names },
        },
      ],
    },
  ],
  [parseClaimCheck, { anyOf: [{ type: "null" }, { $ref: CLAIM_CHECK }] }],
  [parseMaxAge, { type: ["integer", "null"], minimum: 1, maximum: 31536000 }],
  [parseCaseSensitive, { type: ["boolean", "null"] }],
  [parseSampleRatio, { type: "number", minimum: 0, maximum: 1 }],
]);

const claimValue: JsonSchema = { type: ["string", "number", "boolean"] };
const claimBranch = (kind: "all" | "any"): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  required: [kind],
  properties: { [kind]: { type: "array", minItems: 1, maxItems: 32, items: { $ref: CLAIM_CHECK } } },
});

const DEFS: JsonSchema = {
  envReference: {
    description:
      "A string holding `${NAME}`: Portcullis replaces it with the environment variable NAME before checking the value, so editors cannot check its format (`$${` writes a literal `${`).",
    type: "string",
    pattern: String.raw`\$\{[A-Za-z_][A-Za-z0-9_]*\}`,
  },
  claimCheck: {
    description:
      "`{all: [...]}`, `{any: [...]}` (nestable, at most 6 levels: check-config counts them) or a leaf `{claim: <path>}` with exactly one of `equals`, `oneOf`, `contains`, `exists`.",
    oneOf: [
      claimBranch("all"),
      claimBranch("any"),
      {
        type: "object",
        additionalProperties: false,
        required: ["claim"],
        properties: {
          claim: { type: "string", pattern: NON_BLANK },
          equals: claimValue,
          oneOf: { type: "array", minItems: 1, maxItems: 256, items: claimValue },
          contains: claimValue,
          exists: { type: "boolean" },
        },
        oneOf: [
          { required: ["equals"] },
          { required: ["oneOf"] },
          { required: ["contains"] },
          { required: ["exists"] },
        ],
      },
    ],
  },
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

function customSchema(node: CustomNode): JsonSchema {
  const schema = CUSTOM_SCHEMAS.get(node.parse);
  if (schema === undefined)
    throw new Error(`renderJsonSchema: no JSON Schema for the custom node "${node.typeLabel}"; add one`);
  return schema;
}

function descriptionOf(node: SchemaNode): string {
  const note = node.kind === "string" && node.format ? FORMAT_SCHEMAS.get(node.format)?.note : undefined;
  return note === undefined ? node.description : `${node.description} ${note}`;
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
    case "integer":
      return { ...annotations, type: "integer", minimum: node.min, maximum: node.max };
    case "boolean":
      return { ...annotations, type: "boolean" };
    case "list":
      return { ...annotations, ...listSchema(node) };
    case "object":
      return { ...annotations, ...objectSchema(node, root) };
    case "map":
      return { ...annotations, ...mapSchema(node) };
    case "custom":
      return { ...annotations, ...customSchema(node) };
  }
}

export function renderJsonSchema(): JsonSchema {
  const body = renderNode(configSchema, true);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $comment: "Generated from src/config/configSchema.ts by `node src/config/writeJsonSchema.ts`; do not edit by hand.",
    title: "Portcullis configuration",
    ...body,
    description: `${configSchema.description} Editors check each key's shape; \`portcullis check-config\` also checks the rules between keys (e.g. \`redirectUri\` with \`clientId\`, unique route names, known provider names, one path form per route, reachable routes).`,
    $defs: DEFS,
  };
}
