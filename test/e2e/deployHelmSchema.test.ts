// Helm itself refuses a values file whose `config` has a typo'd key, a wrong value or a `listen` of
// its own, at `helm template` and `helm lint --strict`, through the config's JSON Schema embedded in
// the chart's values.schema.json (test/unit/chartValuesSchema.test.ts checks it is generated).
// Needs HELM_BIN (bin/test sets it).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { runHelm } from "../harness/runHelm.ts";

type Json = Record<string, any>;
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
const KEYCLOAK = `${CHART}/examples/values-keycloak.yaml`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-schema-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The Keycloak example with `change` applied to its config, written as a values file. */
async function keycloakWith(name: string, change: (config: Json) => void): Promise<string> {
  const values = parse(await readFile(join(ROOT, KEYCLOAK), "utf8")) as Json;
  change(values["config"]);
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify(values));
  return file;
}

/** helm's stderr (and stdout, where lint reports) for a command that must fail. */
async function helmFails(...args: string[]): Promise<string> {
  try {
    await runHelm(dir, args);
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    return `${stdout ?? ""}${stderr ?? ""}`;
  }
  throw new Error(`helm ${args.join(" ")} succeeded`);
}

describe("helm refuses a config the config's schema refuses, before rendering anything", () => {
  it("names a misspelt top-level key at template and at lint --strict", async () => {
    const file = await keycloakWith("typo", (config) => {
      config["sesion"] = config["session"];
      delete config["session"];
    });
    for (const command of [
      ["template", "x", CHART, "-f", file],
      ["lint", "--strict", CHART, "-f", file],
    ]) {
      const output = await helmFails(...command);
      expect(output).toContain("values don't meet the specifications of the schema");
      expect(output).toContain("at '/config': additional properties 'sesion' not allowed");
    }
  });

  it("names a misspelt key deep in a provider and a route's unknown auth value", async () => {
    const file = await keycloakWith("deep", (config) => {
      const provider = Object.values(config["providers"] as Json)[0] as Json;
      provider["audience"] = provider["audiences"];
      delete provider["audiences"];
      config["routes"][0].auth = "requird";
    });
    const output = await helmFails("template", "x", CHART, "-f", file);
    expect(output).toMatch(/at '\/config\/providers\/[a-z]+': additional properties 'audience' not allowed/);
    expect(output).toContain("at '/config/routes/0/auth': value must be one of 'required', 'optional', 'public'");
  });

  it("refuses config.listen, which the chart sets from ports and mode", async () => {
    const file = await keycloakWith("listen", (config) => {
      config["listen"] = { grpc: "0.0.0.0:1234" };
    });
    expect(await helmFails("template", "x", CHART, "-f", file)).toContain(
      "at '/config': additional properties 'listen' not allowed",
    );
  });

  it("still renders a valid config: the Keycloak example with a --set on top", async () => {
    const out = await runHelm(dir, ["template", "x", CHART, "-f", KEYCLOAK, "--set", "config.log.level=debug"]);
    expect(out).toContain("level: debug");
  });
});
