// The chart's heap flags: values `nodeOptions` becomes the Portcullis container's NODE_OPTIONS in
// both modes (once: an extraEnv NODE_OPTIONS replaces it, "" leaves it out), the values schema
// refuses what is not node flags, and the Node the image runs takes the default flags and sizes its
// heap by them, within the container's memory limit. Needs HELM_BIN (bin/test sets it).
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { runHelm } from "../harness/runHelm.ts";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
const VALUES = `${CHART}/examples/values-keycloak.yaml`;

let dir: string;
let chartValues: Json;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-node-"));
  chartValues = parse(await readFile(join(ROOT, CHART, "values.yaml"), "utf8")) as Json;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** helm with its state under this file's temporary directory. */
const helm = (...args: string[]): Promise<string> => runHelm(dir, args);

/** The Portcullis container's env entries named NODE_OPTIONS. */
async function nodeOptionsOf(...set: string[]): Promise<Json[]> {
  const out = await helm("template", "portcullis", CHART, "-f", VALUES, ...set.flatMap((s) => ["--set", s]));
  const deployment = parseAllDocuments(out)
    .map((d) => d.toJS() as Json | null)
    .find((o) => o?.["kind"] === "Deployment") as Json;
  const container = (deployment["spec"].template.spec.containers as Json[]).find((c) => c["name"] === "portcullis")!;
  return ((container["env"] ?? []) as Json[]).filter((e) => e["name"] === "NODE_OPTIONS");
}

describe("the chart's NODE_OPTIONS", () => {
  it("is values nodeOptions, in central and sidecar mode", async () => {
    expect(chartValues["nodeOptions"]).toMatch(/--max-old-space-size=\d+/);
    expect(chartValues["nodeOptions"]).toMatch(/--max-semi-space-size=\d+/);
    for (const mode of ["central", "sidecar"])
      expect(await nodeOptionsOf(`mode=${mode}`)).toEqual([
        { name: "NODE_OPTIONS", value: chartValues["nodeOptions"] },
      ]);
  });

  it("is replaced by a NODE_OPTIONS in extraEnv, never set twice", async () => {
    expect(await nodeOptionsOf("extraEnv[0].name=NODE_OPTIONS", "extraEnv[0].value=--max-old-space-size=192")).toEqual([
      { name: "NODE_OPTIONS", value: "--max-old-space-size=192" },
    ]);
  });

  it('is left out with nodeOptions ""', async () => {
    expect(await nodeOptionsOf("nodeOptions=")).toEqual([]);
  });

  it("refuses a value that is not node flags, naming nodeOptions", async () => {
    const refused = await nodeOptionsOf("nodeOptions=max-old-space-size=1").then(
      () => "",
      (err: { stderr?: string }) => String(err.stderr),
    );
    expect(refused).toMatch(/nodeOptions/);
  });

  it("is taken by node, which sizes its heap by it within the container's memory limit", async () => {
    const script =
      "const v8 = require('node:v8'); const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');" +
      "console.log(JSON.stringify({ limit: v8.getHeapStatistics().heap_size_limit, newSpace: s.space_size }))";
    const { stdout } = await run(process.execPath, ["-e", script], {
      env: { PATH: process.env["PATH"] ?? "", NODE_OPTIONS: chartValues["nodeOptions"] as string },
      timeout: 30_000,
    });
    const { limit } = JSON.parse(stdout) as { limit: number };
    const mb = (flag: string) => Number(new RegExp(`--${flag}=(\\d+)`).exec(chartValues["nodeOptions"] as string)![1]);
    // V8's limit: the old generation plus the young one (two semi-spaces and the young large-object space).
    expect(limit / 2 ** 20).toBeLessThanOrEqual(mb("max-old-space-size") + 3 * mb("max-semi-space-size"));
    const memoryLimit = /^(\d+)Mi$/.exec(chartValues["resources"].limits.memory as string);
    expect(limit / 2 ** 20).toBeLessThan(Number(memoryLimit![1]));
  });
});
