// The Helm chart as a release ships it: deploy/helm/package.sh packages it (after helm lint --strict),
// the archive carries package.json's version as version and appVersion under a name and tag an OCI
// registry accepts, `helm push` to a real OCI registry (on loopback) takes it and prints the digest
// the release signs, and each example's values render from the archive into objects valid against
// Kubernetes' own schemas (kubernetes-validate --strict, offline). Needs HELM_BIN,
// KUBERNETES_VALIDATE_BIN and REGISTRY_BIN (bin/test sets them).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { createTempScope } from "../harness/createTempScope.ts";
import type { TempScope } from "../harness/createTempScope.ts";
import { runHelm } from "../harness/runHelm.ts";
import { startOciRegistry } from "../harness/startOciRegistry.ts";
import { REPO_ROOT } from "../harness/startPortcullisProcess.ts";

const run = promisify(execFile);
const EXAMPLES = join(REPO_ROOT, "deploy/helm/portcullis/examples");
const KUBERNETES_VERSIONS = ["1.29", "1.37"]; // Chart.yaml kubeVersion >=1.29; the newest schemas shipped
/** CRDs kubernetes-validate has no schema for (off in the examples; deployHelm.test.ts checks them). */
const CRD_KINDS = new Set(["ServiceMonitor", "PrometheusRule"]);
/** The OCI distribution spec's rule for a repository path component, which the chart name becomes. */
const OCI_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** The OCI distribution spec's rule for a tag, which the chart version becomes. */
const OCI_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

function tool(name: string): string {
  const bin = process.env[name];
  if (bin === undefined || bin === "") throw new Error(`${name} is not set: run the suite with bin/test`);
  return bin;
}

let scope: TempScope;
let archive: string;
let version: string;

beforeAll(async () => {
  scope = await createTempScope("portcullis-helm-package-");
  version = (JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
  const { stdout } = await run(join(REPO_ROOT, "deploy/helm/package.sh"), [join(scope.dir, "out")], {
    cwd: REPO_ROOT,
    timeout: 120_000,
    env: {
      ...process.env,
      HELM_BIN: tool("HELM_BIN"),
      HELM_CACHE_HOME: join(scope.dir, "helm/c"),
      HELM_CONFIG_HOME: join(scope.dir, "helm/g"),
      HELM_DATA_HOME: join(scope.dir, "helm/d"),
    },
  });
  archive = stdout.trim();
}, 180_000);

afterAll(async () => {
  await scope?.close();
});

describe("the packaged Helm chart", () => {
  it("is portcullis-<package.json version>.tgz, the one archive package.sh wrote", async () => {
    expect(archive).toBe(join(scope.dir, "out", `portcullis-${version}.tgz`));
    expect(await readdir(join(scope.dir, "out"))).toEqual([`portcullis-${version}.tgz`]);
  });

  it("carries package.json's version as its version and appVersion, under a name and tag an OCI registry accepts", async () => {
    const chart = parse(await runHelm(join(scope.dir, "helm"), ["show", "chart", archive])) as Record<string, unknown>;
    expect(chart).toMatchObject({ name: "portcullis", version, appVersion: version });
    expect(String(chart["name"])).toMatch(OCI_NAME);
    expect(String(chart["version"])).toMatch(OCI_TAG);
  });

  it("keeps its values schema, so an install from the archive refuses a misspelt config key", async () => {
    const { stdout, stderr } = await run(
      tool("HELM_BIN"),
      ["template", "r", archive, "-f", join(EXAMPLES, "values-keycloak.yaml"), "--set", "config.routs=x"],
      { cwd: REPO_ROOT, env: { ...process.env, HELM_CACHE_HOME: join(scope.dir, "helm/c") } },
    ).catch((err: { stdout: string; stderr: string }) => err);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(stderr).toContain("routs");
  });

  it("renders each example's values into objects valid against Kubernetes' schemas", async () => {
    const examples = (await readdir(EXAMPLES)).filter((f) => f.endsWith(".yaml"));
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) {
      const rendered = await runHelm(join(scope.dir, "helm"), [
        "template",
        "portcullis",
        archive,
        "--namespace",
        "portcullis-system",
        "-f",
        join(EXAMPLES, example),
      ]);
      const kinds = parseAllDocuments(rendered)
        .map((doc) => doc.toJS() as { kind?: string } | null)
        .flatMap((o) => (o?.kind === undefined ? [] : [o.kind]));
      expect(kinds, example).toContain("Deployment");
      const file = join(scope.dir, `${example}.rendered.yaml`);
      await writeFile(file, rendered);
      const args = ["--strict", ...KUBERNETES_VERSIONS.flatMap((v) => ["-k", v]), file];
      const { stdout, stderr } = await run(tool("KUBERNETES_VALIDATE_BIN"), args, { timeout: 60_000 }).catch(
        (err: { stdout: string; stderr: string }) => err,
      );
      const lines = `${stdout}${stderr}`.split("\n").filter((l) => l.trim() !== "");
      const failed = lines.filter(
        (l) =>
          !/^INFO .* passed for resource /.test(l) &&
          !(/^WARN .* Couldn't find schema for kind (\S+)/.test(l) && CRD_KINDS.has(/kind (\S+)/.exec(l)![1]!)),
      );
      expect(failed, example).toEqual([]);
      const checked = kinds.filter((k) => !CRD_KINDS.has(k)).length;
      expect(lines.filter((l) => l.startsWith("INFO")).length, example).toBe(checked * KUBERNETES_VERSIONS.length);
    }
  });
});

describe("the packaged chart pushed to an OCI registry", () => {
  const sha256 = async (file: string) =>
    createHash("sha256")
      .update(await readFile(file))
      .digest("hex");

  it("is accepted by helm push, which prints the digest the release signs, and pulls back byte for byte", async () => {
    const registry = await startOciRegistry(join(scope.dir, "registry"));
    scope.defer(() => registry.stop());
    const helmHome = join(scope.dir, "helm");
    const charts = `oci://${registry.host}/charts`;
    // helm push reports on stderr; runHelm resolves stdout only, so both are read here.
    const { stdout, stderr } = await run(tool("HELM_BIN"), ["push", archive, charts, "--plain-http"], {
      cwd: REPO_ROOT,
      timeout: 60_000,
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(helmHome, "c"),
        HELM_CONFIG_HOME: join(helmHome, "g"),
        HELM_DATA_HOME: join(helmHome, "d"),
      },
    });
    // The release workflow reads this line (sed 's/^Digest: *//') to sign the chart by digest.
    const digest = /^Digest: *(sha256:[0-9a-f]{64})$/m.exec(`${stdout}${stderr}`)?.[1];
    expect(digest).toBeDefined();
    expect(`${stdout}${stderr}`).toMatch(new RegExp(`^Pushed: ${registry.host}/charts/portcullis:${version}$`, "m"));

    const pulled = join(scope.dir, "pulled");
    await mkdir(pulled);
    await runHelm(helmHome, ["pull", `${charts}/portcullis`, "--version", version, "--plain-http", "-d", pulled]);
    expect(await sha256(join(pulled, `portcullis-${version}.tgz`))).toBe(await sha256(archive));
    const byDigest = await runHelm(helmHome, ["show", "chart", `${charts}/portcullis@${digest}`, "--plain-http"]);
    expect(parse(byDigest)).toMatchObject({ name: "portcullis", version, appVersion: version });
  });
});
