// The Helm chart with the real tools: `helm lint --strict` and `helm template` for both modes (and
// the variants values switch on), the committed plain manifests equal to `helm template` output,
// every rendered object valid against Kubernetes' own schemas (kubernetes-validate, offline, strict:
// unknown fields are errors) for the oldest and newest Kubernetes the chart supports, the
// ServiceMonitor (a CRD those schemas lack) checked by hand, and the sidecar's Envoy config accepted
// by the pinned Envoy. Needs HELM_BIN, KUBERNETES_VALIDATE_BIN and ENVOY_BIN (bin/test sets them).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import type { DemoCertificate } from "../../src/demo/startEnvoy.ts";
import { envoyBinary } from "../../src/demo/startEnvoy.ts";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
/** The chart has no default config: renders here use the Keycloak example's (deployHelmValues.test.ts tests each example). */
const VALUES = `${CHART}/examples/values-keycloak.yaml`;
const KUBERNETES_VERSIONS = ["1.29", "1.37"]; // Chart.yaml kubeVersion >=1.29; the newest schemas shipped
/** Kinds that are CRDs, not in Kubernetes' schemas: checked by hand below. */
const CRD_KINDS = new Set(["monitoring.coreos.com/v1 ServiceMonitor", "monitoring.coreos.com/v1 PrometheusRule"]);

function tool(name: string): string {
  const bin = process.env[name];
  if (bin === undefined || bin === "")
    throw new Error(`${name} is not set: run the suite with bin/test, which provisions it`);
  return bin;
}

let dir: string;
let cert: DemoCertificate;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-"));
  cert = await ensureDemoCertificate(join(dir, "cert"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function helm(...args: string[]): Promise<string> {
  const { stdout } = await run(tool("HELM_BIN"), args, {
    cwd: ROOT,
    timeout: 60_000,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(dir, "helm-cache"),
      HELM_CONFIG_HOME: join(dir, "helm-config"),
      HELM_DATA_HOME: join(dir, "helm-data"),
    },
  });
  return stdout;
}
/** helm's exit status and stderr for a render that must fail. */
async function helmFails(...args: string[]): Promise<string> {
  try {
    await helm(...args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`helm ${args.join(" ")} succeeded`);
}

const render = (...set: string[]) =>
  helm(
    "template",
    "portcullis",
    CHART,
    "--namespace",
    "portcullis-system",
    "-f",
    VALUES,
    ...set.flatMap((s) => ["--set", s]),
  );
const objectsOf = (text: string): Json[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
const only = (objects: Json[], kind: string, name?: string): Json => {
  const found = objects.filter((o) => o["kind"] === kind && (name === undefined || o["metadata"].name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ""}, found ${found.length}`);
  return found[0] as Json;
};

/**
 * Validates every object with kubernetes-validate --strict for each Kubernetes version; returns the
 * objects it has no schema for. Any other outcome than "passed" or "no schema" fails.
 */
async function validateAgainstKubernetes(name: string, text: string): Promise<string[]> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  const args = ["--strict", ...KUBERNETES_VERSIONS.flatMap((v) => ["-k", v]), file];
  const { stdout, stderr } = await run(tool("KUBERNETES_VALIDATE_BIN"), args, { timeout: 60_000 }).catch(
    (err: { stdout: string; stderr: string }) => err,
  );
  const lines = `${stdout}${stderr}`.split("\n").filter((l) => l.trim() !== "");
  const failed = lines.filter(
    (l) => !/^INFO .* passed for resource /.test(l) && !/^WARN .* Couldn't find schema for kind /.test(l),
  );
  expect(failed).toEqual([]);
  const passed = lines.filter((l) => l.startsWith("INFO")).length;
  const objects = objectsOf(text);
  const unknown = objects.filter((o) => CRD_KINDS.has(`${o["apiVersion"]} ${o["kind"]}`));
  expect(passed).toBe((objects.length - unknown.length) * KUBERNETES_VERSIONS.length);
  return lines
    .filter((l) => l.startsWith("WARN"))
    .map((l) => /for kind (\S+) with api version (\S+)/.exec(l)!.slice(1, 3).reverse().join(" "));
}

async function envoyValidates(config: string, name: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, config);
  const { stdout, stderr } = await run(envoyBinary(), ["--mode", "validate", "--disable-hot-restart", "-c", file], {
    timeout: 30_000,
  });
  return stdout + stderr;
}

describe("helm lint", () => {
  it("passes --strict in central mode, sidecar mode and with every optional object on", async () => {
    for (const set of [
      [],
      ["mode=sidecar"],
      [
        "serviceMonitor.enabled=true",
        "prometheusRule.enabled=true",
        "grafanaDashboard.enabled=true",
        "sidecar.envoy.tls.secretName=app-tls",
        "mode=sidecar",
        "configReload=restart",
      ],
    ]) {
      const out = await helm("lint", "--strict", CHART, "-f", VALUES, ...set.flatMap((s) => ["--set", s]));
      expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
    }
  });
});

describe("deploy/kubernetes", () => {
  it.each(["central.yaml", "sidecar.yaml"])(
    "%s is exactly what the helm template command in its header renders",
    async (file) => {
      const text = await readFile(join(ROOT, "deploy/kubernetes", file), "utf8");
      const command = /^#\s+helm template (.+)$/m.exec(text)?.[1];
      expect(command).toBeDefined();
      const rendered = await helm("template", ...(command as string).split(/\s+/));
      const body = text.slice(text.indexOf("\n---\n") + 1);
      expect(body).toBe(rendered);
    },
  );
});

describe("helm template, validated against Kubernetes' schemas", () => {
  it("renders central mode into objects Kubernetes 1.29 and 1.37 accept", async () => {
    expect(await validateAgainstKubernetes("central", await render())).toEqual([]);
  });

  it("renders sidecar mode into objects Kubernetes 1.29 and 1.37 accept", async () => {
    expect(await validateAgainstKubernetes("sidecar", await render("mode=sidecar"))).toEqual([]);
  });

  it("renders every optional setting into valid objects, the ServiceMonitor checked by hand (the PrometheusRule by test/e2e/deployHelmObservability.test.ts)", async () => {
    const text = await render(
      "serviceMonitor.enabled=true",
      "serviceMonitor.labels.release=prometheus",
      "autoscaling.enabled=false",
      "replicaCount=3",
      "configReload=restart",
      "service.headless=false",
      "networkPolicy.from[0].namespaceSelector.matchLabels.role=gateway",
      "extraEnv[0].name=NODE_OPTIONS",
      "extraEnv[0].value=--max-old-space-size=192",
      "serviceAccount.create=false",
      "serviceAccount.name=portcullis-sa",
      "priorityClassName=platform-critical",
      "extraVolumes[0].name=corp-ca",
      "extraVolumes[0].configMap.name=corp-ca",
      "extraVolumeMounts[0].name=corp-ca",
      "extraVolumeMounts[0].mountPath=/etc/portcullis-ca",
      "extraVolumeMounts[0].readOnly=true",
      "prometheusRule.enabled=true",
      "grafanaDashboard.enabled=true",
    );
    const unknown = await validateAgainstKubernetes("optional", text);
    expect(unknown.sort()).toEqual(
      KUBERNETES_VERSIONS.flatMap(() => [
        "monitoring.coreos.com/v1 PrometheusRule",
        "monitoring.coreos.com/v1 ServiceMonitor",
      ]).sort(),
    );
    const objects = objectsOf(text);
    const monitor = only(objects, "ServiceMonitor");
    const service = only(objects, "Service");
    expect(Object.keys(monitor)).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(monitor["metadata"]).toMatchObject({
      name: "portcullis",
      namespace: "portcullis-system",
      labels: { release: "prometheus" },
    });
    expect(Object.keys(monitor["spec"]).sort()).toEqual(["endpoints", "jobLabel", "namespaceSelector", "selector"]);
    // The ServiceMonitor selects the Service by its labels and scrapes the port that reaches the admin listener.
    for (const [k, v] of Object.entries(monitor["spec"].selector.matchLabels as Record<string, string>))
      expect(service["metadata"].labels[k]).toBe(v);
    expect(monitor["spec"].namespaceSelector).toEqual({ matchNames: ["portcullis-system"] });
    const endpoint = monitor["spec"].endpoints[0] as Json;
    expect(Object.keys(endpoint).sort()).toEqual(["interval", "path", "port", "scrapeTimeout"]);
    expect(endpoint["path"]).toBe("/metrics");
    expect((service["spec"].ports as Json[]).find((p) => p["name"] === endpoint["port"])?.["targetPort"]).toBe("admin");
    // Fixed replicas without an HPA; no headless Service; a checksum rolls the pods on a config change.
    expect(objects.map((o) => o["kind"])).not.toContain("HorizontalPodAutoscaler");
    const deployment = only(objects, "Deployment");
    expect(deployment["spec"].replicas).toBe(3);
    expect(deployment["spec"].template.spec.serviceAccountName).toBe("portcullis-sa");
    expect(deployment["spec"].template.spec.containers[0].args).not.toContain("--watch");
    expect(deployment["spec"].template.metadata.annotations["checksum/config"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("mounts the API keys Secret whole, read-only, for config.apiKeys.file and --watch", async () => {
    const text = await render("apiKeysSecret=portcullis-api-keys");
    await validateAgainstKubernetes("api-keys", text);
    const pod = only(objectsOf(text), "Deployment")["spec"].template.spec as Json;
    expect((pod["volumes"] as Json[]).find((v) => v["name"] === "api-keys")).toEqual({
      name: "api-keys",
      secret: { secretName: "portcullis-api-keys" },
    });
    const portcullis = (pod["containers"] as Json[]).find((c) => c["name"] === "portcullis") as Json;
    expect((portcullis["volumeMounts"] as Json[]).find((m) => m["name"] === "api-keys")).toEqual({
      name: "api-keys",
      mountPath: "/etc/portcullis-api-keys",
      readOnly: true,
    });
    expect(portcullis["args"]).toContain("--watch");
    const none = only(objectsOf(await render()), "Deployment")["spec"].template.spec as Json;
    expect((none["volumes"] as Json[]).map((v) => v["name"])).not.toContain("api-keys");
  });

  it("changes the config checksum with the config in restart mode, so helm upgrade rolls the pods", async () => {
    const checksum = async (level: string) =>
      only(objectsOf(await render("configReload=restart", `config.log.level=${level}`)), "Deployment")["spec"].template
        .metadata.annotations["checksum/config"];
    expect(await checksum("info")).not.toBe(await checksum("debug"));
  });
});

describe("the sidecar's Envoy config", () => {
  const envoyConfigOf = (objects: Json[]) =>
    only(objects, "ConfigMap", "portcullis-envoy")["data"] as Record<string, string>;

  it("is accepted by the pinned Envoy", async () => {
    const data = envoyConfigOf(objectsOf(await render("mode=sidecar")));
    expect(await envoyValidates(data["envoy.yaml"] as string, "sidecar-envoy")).toMatch(/OK/);
  });

  it("serves HTTPS from the mounted Secret through file-based SDS, accepted by the pinned Envoy", async () => {
    const text = await render("mode=sidecar", "sidecar.envoy.tls.secretName=app-tls");
    const objects = objectsOf(text);
    expect(await validateAgainstKubernetes("sidecar-tls", text)).toEqual([]);
    const pod = only(objects, "Deployment")["spec"].template.spec as Json;
    expect((pod["volumes"] as Json[]).find((v) => v["name"] === "envoy-tls")).toEqual({
      name: "envoy-tls",
      secret: { secretName: "app-tls" },
    });
    expect(only(objects, "Service")["spec"].ports[0]).toMatchObject({ name: "https", appProtocol: "https" });
    // Paths moved from the pod's mounts to real files: the SDS file, the certificate and its directory.
    const data = envoyConfigOf(objects);
    const tlsDir = join(dir, "tls");
    await mkdir(tlsDir, { recursive: true });
    await writeFile(join(tlsDir, "tls.crt"), await readFile(cert.certFile));
    await writeFile(join(tlsDir, "tls.key"), await readFile(cert.keyFile));
    const sds = join(dir, "tls-sds.yaml");
    await writeFile(sds, (data["tls-sds.yaml"] as string).replaceAll("/etc/envoy/tls", tlsDir));
    const envoyYaml = (data["envoy.yaml"] as string).replace("/etc/envoy/config/tls-sds.yaml", sds);
    expect(envoyYaml).not.toMatch(/:\s*\/etc\/envoy\//);
    const tls = parse(envoyYaml)["static_resources"].listeners[0].filter_chains[0].transport_socket;
    expect(
      tls.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].sds_config.path_config_source.path,
    ).toBe(sds);
    expect(await envoyValidates(envoyYaml, "sidecar-envoy-tls")).toMatch(/OK/);
  });

  it("rolls the pods when only the Envoy settings change", async () => {
    const checksum = async (timeout: string) =>
      only(objectsOf(await render("mode=sidecar", `sidecar.envoy.extAuthzTimeout=${timeout}`)), "Deployment")["spec"]
        .template.metadata.annotations["checksum/envoy-config"];
    const [one, two] = [await checksum("1s"), await checksum("2s")];
    expect(one).not.toBe(two);
    const data = envoyConfigOf(objectsOf(await render("mode=sidecar", "sidecar.envoy.extAuthzTimeout=2s")));
    expect(
      createHash("sha256")
        .update((data["envoy.yaml"] as string).replace(/\n$/, ""))
        .digest("hex"),
    ).toBe(two);
  });
});

describe("helm template refuses values that cannot work", () => {
  it("names the value: an unknown mode, a listen the chart owns, secretEnv without a Secret, a misspelt key", async () => {
    const refused = (set: string) => helmFails("template", "x", CHART, "-f", VALUES, "--set", set);
    expect(await refused("mode=gateway")).toMatch(/mode.*central.*sidecar/);
    expect(await refused("config.listen.grpc=0.0.0.0:1")).toMatch(/config|listen/);
    expect(await refused("existingSecret=")).toMatch(/secretEnv maps variables to keys of existingSecret/);
    expect(await refused("replicas=3")).toMatch(/replicas/);
    expect(await refused("ports.admin=0")).toMatch(/ports\/admin|ports\.admin/);
  });
});
