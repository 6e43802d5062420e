// The chart's workers: values `workers` (1 by default) becomes `serve --workers N` in the Portcullis
// container's args only when it is not 1, and then the sidecar Envoy caps the streams per connection
// on its Portcullis cluster so its checks spread over the workers; with 1 neither appears. The values
// schema refuses what is not a whole number from 1 to 256 or "auto", naming `workers`; the pinned
// Envoy accepts the capped config. Needs HELM_BIN and ENVOY_BIN (bin/test sets them).
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { envoyBinary } from "../../src/demo/startEnvoy.ts";
import { runHelm } from "../harness/runHelm.ts";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
const VALUES = `${CHART}/examples/values-keycloak.yaml`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-workers-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** helm with its state under this file's temporary directory. */
const helm = (...args: string[]): Promise<string> => runHelm(dir, args);

interface Rendered {
  /** The Portcullis container's args. */
  readonly args: string[];
  /** The sidecar Envoy's portcullis_ext_authz cluster's http2_protocol_options. */
  readonly http2: Json;
  /** The sidecar Envoy's config as rendered. */
  readonly envoyText: string;
}

/** Renders the chart in sidecar mode with the given `--set`s and extra values files. */
async function render(set: string[], files: string[] = []): Promise<Rendered> {
  const extra = [...set.flatMap((s) => ["--set", s]), ...files.flatMap((f) => ["-f", f])];
  const out = await helm("template", "shop", CHART, "-f", VALUES, "--set", "mode=sidecar", ...extra);
  const docs = parseAllDocuments(out).map((d) => d.toJS() as Json | null);
  const deployment = docs.find((o) => o?.["kind"] === "Deployment")!;
  const containers = deployment["spec"].template.spec.containers as Json[];
  const args = containers.find((c) => c["name"] === "portcullis")!["args"] as string[];
  const envoyMap = docs.find((o) => o?.["kind"] === "ConfigMap" && /envoy/.test(o["metadata"].name as string))!;
  const envoyText = Object.values(envoyMap["data"] as Record<string, string>)[0]!;
  const envoy = parse(envoyText) as Json;
  const cluster = (envoy["static_resources"].clusters as Json[]).find((c) => c["name"] === "portcullis_ext_authz")!;
  const options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
  return { args, http2: options["explicit_http_config"]["http2_protocol_options"] as Json, envoyText };
}

async function refusal(value: string): Promise<string> {
  return render([`workers=${value}`]).then(
    () => "",
    (err: { stderr?: string }) => String(err.stderr),
  );
}

describe("the chart's workers", () => {
  it("is 1 by default: no --workers flag and Envoy's default streams per connection", async () => {
    const values = parse(await readFile(join(ROOT, CHART, "values.yaml"), "utf8")) as Json;
    expect(values["workers"]).toBe(1);
    for (const set of [[], ["workers=1"]]) {
      const { args, http2 } = await render(set);
      expect(args).not.toContain("--workers");
      expect(http2).toEqual({});
    }
  });

  it("renders --workers 2 and caps Envoy's streams per connection to Portcullis at 4", async () => {
    const { args, http2, envoyText } = await render(["workers=2"]);
    expect(args.slice(args.indexOf("--workers"), args.indexOf("--workers") + 2)).toEqual(["--workers", "2"]);
    expect(http2).toEqual({ max_concurrent_streams: 4 });
    const file = join(dir, "envoy.yaml");
    await writeFile(file, envoyText);
    const { stdout } = await run(envoyBinary(), ["--mode", "validate", "--disable-hot-restart", "-c", file], {
      timeout: 60_000,
    });
    expect(stdout).toMatch(/OK/);
  });

  it("takes workers from a values file (a YAML number) and auto alike", async () => {
    const file = join(dir, "workers.yaml");
    await writeFile(file, "workers: 3\n");
    expect((await render([], [file])).args).toEqual(expect.arrayContaining(["--workers", "3"]));
    const auto = await render(["workers=auto"]);
    expect(auto.args.slice(auto.args.indexOf("--workers"))).toEqual(["--workers", "auto"]);
    expect(auto.http2).toEqual({ max_concurrent_streams: 4 });
  });

  it("refuses 0, 257 and a word that is not auto, naming workers and what it accepts", async () => {
    expect(await refusal("0")).toMatch(/workers.*[\s\S]*minimum: got 0, want 1/);
    expect(await refusal("257")).toMatch(/workers.*[\s\S]*maximum: got 257, want 256/);
    expect(await refusal("two")).toMatch(/workers[\s\S]*value must be 'auto'/);
  });
});
