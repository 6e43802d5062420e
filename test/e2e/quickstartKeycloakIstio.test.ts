// The Keycloak + Istio quickstart (docs/quickstart-keycloak-istio.md), checked without a cluster:
// the files the page writes (```yaml file=NAME) and the helm and kubectl commands it runs. The chart
// renders with the page's values and every object, and the stand-in app's manifest, pass
// kubernetes-validate --strict; the Portcullis config in the values passes `portcullis check-config`;
// and the page's pieces fit the deploy/istio files it applies (provider, Service and ports, hosts,
// the app's Service and labels). Those files' own rules are checked by test/unit/deployHelmIstio.test.ts
// and test/e2e/deployBypassAudit.test.ts. Needs HELM_BIN and KUBERNETES_VALIDATE_BIN (bin/test sets them).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { fencedBlocks, readPage, ROOT } from "../harness/markdownBlocks.ts";

type Json = Record<string, any>;
const run = promisify(execFile);
const PAGE = "docs/quickstart-keycloak-istio.md";
const KUBERNETES_VERSIONS = ["1.29", "1.37"]; // the chart's Chart.yaml kubeVersion >=1.29, and the newest schemas

const blocks = fencedBlocks(readPage(PAGE));
/** The files the page has the reader write, by name. */
const pageFiles = new Map(
  blocks
    .filter((b) => b.lang === "yaml" && b.attributes["file"] !== undefined)
    .map((b) => [b.attributes["file"]!, b.text]),
);
/** Every helm and kubectl command in the page's shell blocks, continuation lines joined, comments dropped. */
const commands = blocks
  .filter((b) => b.lang === "sh")
  .flatMap((b) => b.text.replace(/\\\n\s*/g, " ").split("\n"))
  .map((line) => line.replace(/\s+#.*$/, "").trim())
  .filter((line) => /^(helm|kubectl) /.test(line));
const words = (command: string) => command.split(/\s+/);
/** The values of every `-f` / `--values` in a command. */
const fileArgs = (command: string) =>
  words(command).flatMap((word, i, all) => (word === "-f" || word === "--values" ? [all[i + 1]!] : []));
const objectsOf = (text: string): Json[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
const one = (objects: Json[], kind: string, name?: string): Json => {
  const found = objects.filter((o) => o["kind"] === kind && (name === undefined || o["metadata"]?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ""}, found ${found.length}`);
  return found[0] as Json;
};
const repoObjects = async (path: string) => objectsOf(await readFile(join(ROOT, path), "utf8"));

function tool(name: string): string {
  const bin = process.env[name];
  if (bin === undefined || bin === "")
    throw new Error(`${name} is not set: run the suite with bin/test, which provisions it`);
  return bin;
}

let dir: string;
/** A command's file argument: one the page writes (into the temp dir), else the repository's. */
const resolveFile = (file: string) => (pageFiles.has(file) ? join(dir, file) : join(ROOT, file));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-istio-quickstart-"));
  for (const [name, text] of pageFiles) await writeFile(join(dir, name), text);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `helm template` with the arguments of the page's `helm install` of the local chart. */
async function renderPageInstall(): Promise<Json[]> {
  const installs = commands.filter((c) => /^helm (install|upgrade --install) /.test(c));
  const local = installs.filter((c) => existsSync(join(ROOT, words(c)[words(c)[1] === "install" ? 3 : 4]!)));
  expect(local).toHaveLength(1);
  const args = words(local[0]!).slice(2);
  if (args[0] === "--install") args.shift();
  const [release, chart, ...options] = args as [string, string, ...string[]];
  const kept = options.flatMap((word, i, all) => {
    if (word === "--create-namespace" || word === "--wait") return [];
    if (all[i - 1] === "-f" || all[i - 1] === "--values") return [resolveFile(word)];
    return [word];
  });
  const { stdout } = await run(tool("HELM_BIN"), ["template", release, chart, ...kept], {
    cwd: ROOT,
    timeout: 60_000,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(dir, "helm-cache"),
      HELM_CONFIG_HOME: join(dir, "helm-config"),
      HELM_DATA_HOME: join(dir, "helm-data"),
    },
  });
  return objectsOf(stdout);
}

/** kubernetes-validate --strict for each Kubernetes version; every object must pass (no kind without a schema). */
async function expectValidForKubernetes(name: string, objects: Json[]): Promise<void> {
  const file = join(dir, `${name}.validate.yaml`);
  await writeFile(file, objects.map((o) => stringify(o)).join("---\n"));
  const args = ["--strict", ...KUBERNETES_VERSIONS.flatMap((v) => ["-k", v]), file];
  const { stdout, stderr } = await run(tool("KUBERNETES_VALIDATE_BIN"), args, { timeout: 60_000 }).catch(
    (err: { stdout: string; stderr: string }) => err,
  );
  const lines = `${stdout}${stderr}`.split("\n").filter((l) => l.trim() !== "");
  expect(lines.filter((l) => !/^INFO .* passed for resource /.test(l))).toEqual([]);
  expect(lines).toHaveLength(objects.length * KUBERNETES_VERSIONS.length);
}

describe("the Keycloak + Istio quickstart", () => {
  it("writes the app's manifest and the chart's values, and runs helm and kubectl on files that exist", () => {
    expect([...pageFiles.keys()].sort()).toEqual(["app.yaml", "portcullis-values.yaml"]);
    const named = commands.flatMap(fileArgs);
    expect(named).toEqual(
      expect.arrayContaining([
        "app.yaml",
        "portcullis-values.yaml",
        "deploy/istio/istiod-values.yaml",
        "deploy/istio/virtual-service.yaml",
        "deploy/istio/authorization-policy.yaml",
      ]),
    );
    expect(named.filter((file) => !pageFiles.has(file) && !existsSync(join(ROOT, file)))).toEqual([]);
  });

  it("renders the chart with the page's values into objects valid for Kubernetes 1.29 and 1.37", async () => {
    const objects = await renderPageInstall();
    expect(objects.map((o) => o["kind"])).toEqual(expect.arrayContaining(["Deployment", "Service", "ConfigMap"]));
    await expectValidForKubernetes("portcullis", objects);
  });

  it("gives the stand-in app a manifest valid for Kubernetes 1.29 and 1.37", async () => {
    await expectValidForKubernetes("app", objectsOf(pageFiles.get("app.yaml") ?? ""));
  });

  it("has a Portcullis config that passes portcullis check-config", async () => {
    const values = parse(pageFiles.get("portcullis-values.yaml") ?? "") as Json;
    const file = join(dir, "config.yaml");
    await writeFile(file, stringify(values["config"]));
    const result = await run(join(ROOT, "bin/portcullis"), ["check-config", "--config", file], {
      cwd: ROOT,
      timeout: 120_000,
    }).then(
      (ok) => ({ code: 0, output: ok.stdout + ok.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
    );
    expect(result, result.output).toMatchObject({ code: 0 });
  });

  it("fits deploy/istio: the provider's Service and ports, the auth route, the hosts, the app's Service and labels, the NetworkPolicy", async () => {
    const rendered = await renderPageInstall();
    const mesh = parse(await readFile(join(ROOT, "deploy/istio/istiod-values.yaml"), "utf8")) as Json;
    const routing = await repoObjects("deploy/istio/virtual-service.yaml");
    const policies = await repoObjects("deploy/istio/authorization-policy.yaml");
    const provider = (mesh["meshConfig"].extensionProviders as Json[])[0] as Json;

    // The rollout the page waits for, and the Service the mesh config and the auth route name.
    const rollout = commands.find((c) => c.includes("rollout status")) ?? "";
    const namespace = words(rollout)[words(rollout).indexOf("-n") + 1];
    const deployment = words(rollout)
      .at(-1)
      ?.replace(/^deployment\//, "");
    expect(one(rendered, "Deployment", deployment)["metadata"].namespace).toBe(namespace);
    const service = one(rendered, "Service", "portcullis");
    const port = (name: string) => (service["spec"].ports as Json[]).find((p) => p["name"] === name)?.["port"];
    const fqdn = `${service["metadata"].name}.${service["metadata"].namespace}.svc.cluster.local`;
    expect([provider["envoyExtAuthzGrpc"].service, provider["envoyExtAuthzGrpc"].port]).toEqual([fqdn, port("grpc")]);
    const http = one(routing, "VirtualService")["spec"].http as Json[];
    const authRoute = http.find((r) => r["name"] === "portcullis-auth") as Json;
    expect(authRoute["route"][0].destination).toEqual({ host: fqdn, port: { number: port("http-auth") } });
    const custom = policies.find((p) => p["spec"]?.action === "CUSTOM") as Json;
    expect(custom["spec"].provider.name).toBe(provider["name"]);

    // The hosts the page's routes name are the ones the Gateway serves and the policy exempts /oauth2/* on.
    const config = (parse(pageFiles.get("portcullis-values.yaml") ?? "") as Json)["config"] as Json;
    const routeHosts = (config["routes"] as Json[]).flatMap((r) => [r["match"]?.host ?? []].flat());
    const gatewayHosts = (one(routing, "Gateway")["spec"].servers as Json[]).flatMap((s) => s["hosts"]);
    expect(routeHosts.length).toBeGreaterThan(0);
    expect(routeHosts.filter((h: string) => !gatewayHosts.includes(h))).toEqual([]);
    const exempt = (custom["spec"].rules as Json[]).flatMap((r) =>
      r["to"].flatMap((t: Json) => t["operation"].notHosts ?? []),
    );
    expect(routeHosts.filter((h: string) => !exempt.includes(h))).toEqual([]);

    // The stand-in app is the Service the VirtualService routes to, with the labels the ALLOW policy selects.
    const app = objectsOf(pageFiles.get("app.yaml") ?? "");
    const appService = one(app, "Service");
    const appRoute = http.find((r) => r["name"] === "app") as Json;
    expect(appRoute["route"][0].destination).toEqual({
      host: `${appService["metadata"].name}.${appService["metadata"].namespace}.svc.cluster.local`,
      port: { number: (appService["spec"].ports as Json[])[0]?.["port"] },
    });
    const allow = policies.find((p) => p["spec"]?.action === "ALLOW") as Json;
    const pod = one(app, "Deployment")["spec"].template.metadata.labels as Json;
    expect(pod).toMatchObject(allow["spec"].selector.matchLabels);
    expect(appService["metadata"].namespace).toBe(allow["metadata"].namespace);
    expect(one(app, "Namespace")["metadata"].labels).toMatchObject({ "istio-injection": "enabled" });

    // Only the gateway's namespace reaches the Check and auth ports.
    const networkPolicy = one(rendered, "NetworkPolicy");
    const checkRule = (networkPolicy["spec"].ingress as Json[]).find((rule) =>
      (rule["ports"] as Json[]).some((p) => p["port"] === "grpc"),
    ) as Json;
    expect(checkRule["from"]).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": custom["metadata"].namespace } } },
    ]);
  });

  it("shows, for reading, exactly the CUSTOM policy that deploy/istio/authorization-policy.yaml applies", async () => {
    const shown = blocks
      .filter((b) => b.lang === "yaml" && b.attributes["file"] === undefined)
      .flatMap((b) => objectsOf(b.text))
      .filter((o) => o["kind"] === "AuthorizationPolicy");
    const applied = (await repoObjects("deploy/istio/authorization-policy.yaml")).find(
      (p) => p["spec"]?.action === "CUSTOM",
    ) as Json;
    expect(shown).toHaveLength(1);
    expect(shown[0]).toEqual(applied);
  });
});
