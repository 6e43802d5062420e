// The Helm chart's values.schema.json embeds the config's JSON Schema as `config`, generated (a
// drift fails here), so Helm refuses a typo'd config key at install, upgrade, template and lint.
// Helm itself validating with it is proven in test/e2e/deployHelmSchema.test.ts; here a strict
// validator reads it: the example values files pass, typos and a chart-owned `listen` do not.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { renderJsonSchema } from "../../src/config/renderJsonSchema.ts";
import { CHART_VALUES_SCHEMA_PATH, renderChartValuesSchemaFile } from "../../src/config/writeChartValuesSchema.ts";

type Json = Record<string, any>;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EXAMPLES = join(ROOT, "deploy/helm/portcullis/examples");
const committed = readFileSync(CHART_VALUES_SCHEMA_PATH, "utf8");
const schema = JSON.parse(committed) as Json;

const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);
const chartDefaults = parse(readFileSync(join(ROOT, "deploy/helm/portcullis/values.yaml"), "utf8")) as Json;
const examples = readdirSync(EXAMPLES).filter((f) => /^values-.*\.ya?ml$/.test(f));
const example = (file: string) => parse(readFileSync(join(EXAMPLES, file), "utf8")) as Json;
/** The chart's values.yaml under a user's file, as Helm merges them (config and secretEnv: theirs alone). */
const merged = (user: Json): Json => ({ ...chartDefaults, ...user });
const errorsOf = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

describe("the chart's values.schema.json", () => {
  it("embeds the config's JSON Schema as generated (run `node src/config/writeChartValuesSchema.ts` after a change)", () => {
    expect(committed).toBe(renderChartValuesSchemaFile(committed));
  });

  it("is a draft-07 schema, as Helm reads it, whose every definition is referenced", () => {
    expect(schema["$schema"]).toBe("http://json-schema.org/draft-07/schema#");
    expect(committed).not.toContain('"$defs"');
    expect(ajv.validateSchema(schema)).toBe(true);
    for (const name of Object.keys(schema["definitions"])) expect(committed).toContain(`"#/definitions/${name}"`);
  });

  it("describes every config key but listen, which the chart sets", () => {
    const configKeys = Object.keys(renderJsonSchema()["properties"] as Json).filter((k) => k !== "listen");
    expect(Object.keys(schema["properties"].config.properties)).toEqual(configKeys);
    expect(schema["properties"].config.additionalProperties).toBe(false);
  });

  it("holds no pattern Helm's RE2 cannot compile (no lookaround, no backreference)", () => {
    const patterns = [...committed.matchAll(/"pattern": "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(patterns.length).toBeGreaterThan(0);
    expect(patterns.filter((p: string) => /\(\?<?[=!]|\\[1-9]/.test(p))).toEqual([]);
  });

  it.each(examples)("accepts %s over the chart's defaults", (file) => {
    expect(validate(merged(example(file))), errorsOf().join("\n")).toBe(true);
  });

  it("refuses a misspelt config key, naming where it is", () => {
    const values = example("values-keycloak.yaml");
    values["config"].sesion = values["config"].session;
    delete values["config"].session;
    expect(validate(merged(values))).toBe(false);
    expect(errorsOf()).toContain("/config must NOT have additional properties");
    expect(validate.errors?.find((e) => e.instancePath === "/config")?.params).toEqual({
      additionalProperty: "sesion",
    });
  });

  it("refuses a value outside a key's allowed ones deep in the config", () => {
    const values = example("values-keycloak.yaml");
    values["config"].routes[0].auth = "requird";
    expect(validate(merged(values))).toBe(false);
    expect(errorsOf()).toContain("/config/routes/0/auth must be equal to one of the allowed values");
  });

  it("refuses config.listen, which the chart sets from ports and mode", () => {
    const values = example("values-keycloak.yaml");
    values["config"].listen = { grpc: "0.0.0.0:1234" };
    expect(validate(merged(values))).toBe(false);
    expect(validate.errors?.find((e) => e.instancePath === "/config")?.params).toEqual({
      additionalProperty: "listen",
    });
  });

  it("lets an empty config through to the template, whose message names the examples", () => {
    expect(validate(merged({}))).toBe(true);
  });
});
