// Writes the config's JSON Schema into the Helm chart's values.schema.json as `properties.config`
// (its definitions merged into the root `definitions`, draft-07 as Helm reads it), so `helm install/upgrade/template/lint` refuse a typo'd
// config key before anything reaches a cluster. Run: `node src/config/writeChartValuesSchema.ts`.
// Everything else in that file is written by hand and kept as it is, key order included.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { JsonSchema } from "./JsonSchema.ts";
import { renderJsonSchema } from "./renderJsonSchema.ts";

export const CHART_VALUES_SCHEMA_PATH = fileURLToPath(
  new URL("../../deploy/helm/portcullis/values.schema.json", import.meta.url),
);

const CONFIG_DESCRIPTION =
  "Required, no default (Helm would deep-merge one into yours): the Portcullis config file (docs/configuration.md) without `listen`, which the chart sets from `ports` and `mode`. Each key's shape is checked here; the rules between keys, and the formats Helm's regular expressions cannot express, by `portcullis check-config`, which the chart runs with the pod's environment before Helm applies a change (a hook Job) and before Portcullis starts in a pod (an init container). The templates refuse an empty config, one without `routes`, and a `${VAR}` that neither `secretEnv` nor `extraEnv` sets. examples/ has complete values files.";

/** Helm validates with Go's RE2, which has no lookaround: such a pattern would make every render fail. */
const RE2_UNSUPPORTED = /\(\?<?[=!]|\\[1-9]/;

/** The schema without the patterns RE2 cannot compile (check-config still checks those values). */
function withoutLookaround(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutLookaround);
  if (schema === null || typeof schema !== "object") return schema;
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === "pattern" && typeof value === "string" && RE2_UNSUPPORTED.test(value)) continue;
    out[keyword] = withoutLookaround(value);
  }
  return out;
}

/**
 * The chart's values schema with `properties.config` and the config's `definitions` taken from the
 * config's schema; the chart's own definitions stay first, in their order. A generated name equal
 * to a hand-written one replaces it, so the hand-written ones keep names the config never uses
 * (the unit test checks that every definition is referenced, so none lingers).
 * `listen` is the chart's (so left out: a config setting it is refused), and `routes` is not
 * required here so that an empty config reaches the template's message naming the examples.
 */
export function renderChartValuesSchema(chart: JsonSchema): JsonSchema {
  const { definitions, properties, required: _routes, ...config } = renderJsonSchema();
  const generated = definitions as JsonSchema;
  const chartDefinitions = Object.fromEntries(
    Object.entries((chart["definitions"] ?? {}) as JsonSchema).filter(([name]) => !(name in generated)),
  );
  const { listen: _chartSets, ...configProperties } = properties as JsonSchema;
  delete config["$schema"];
  delete config["$comment"];
  delete config["title"];
  const chartProperties = chart["properties"] as JsonSchema;
  const { $defs: _before, ...chartRest } = chart;
  return {
    ...chartRest,
    $schema: "http://json-schema.org/draft-07/schema#",
    definitions: { ...chartDefinitions, ...(withoutLookaround(generated) as JsonSchema) },
    properties: {
      ...chartProperties,
      config: withoutLookaround({
        $comment:
          "Generated from src/config/configSchema.ts by `node src/config/writeChartValuesSchema.ts`, as are the root definitions it refers to; do not edit by hand.",
        ...config,
        description: CONFIG_DESCRIPTION,
        properties: configProperties,
      }),
    },
  };
}

/** The file's exact text from the committed one: two-space JSON with a final newline. */
export function renderChartValuesSchemaFile(committed: string): string {
  return `${JSON.stringify(renderChartValuesSchema(JSON.parse(committed) as JsonSchema), null, 2)}\n`;
}

export function writeChartValuesSchema(path: string = CHART_VALUES_SCHEMA_PATH): void {
  writeFileSync(path, renderChartValuesSchemaFile(readFileSync(path, "utf8")));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeChartValuesSchema();
  console.log(`The chart's values schema written to ${CHART_VALUES_SCHEMA_PATH}`);
}
