// The plain manifests rendered from the Helm chart (deploy/kubernetes/central.yaml, sidecar.yaml;
// test/e2e/deployHelm.test.ts proves they equal `helm template` output), read as Kubernetes would:
// non-root and read-only containers, probes on the admin port that the config really binds on
// 0.0.0.0, a config that loads with the environment the pod gives it, and every name, port and
// selector agreeing with the object that refers to it. The sidecar's Envoy sends checks and
// /oauth2/* to Portcullis on loopback and everything else to the app container's port.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";

type Json = Record<string, any>;
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const dir = mkdtempSync(join(tmpdir(), "portcullis-helm-manifests-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const packageVersion = (JSON.parse(read("package.json")) as { version: string }).version;
const pinnedEnvoy = /^ENVOY_VERSION="([^"]+)"/m.exec(read("bin/provision.sh"))?.[1];

function objectsOf(path: string): Json[] {
  return parseAllDocuments(read(path))
    .map((doc) => doc.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
}

function only(objects: Json[], kind: string, name?: string): Json {
  const found = objects.filter((o) => o["kind"] === kind && (name === undefined || o["metadata"].name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0] as Json;
}

const podSpec = (objects: Json[]) => only(objects, "Deployment")["spec"].template.spec as Json;
const container = (objects: Json[], name: string): Json => {
  const found = (podSpec(objects)["containers"] as Json[]).find((c) => c["name"] === name);
  if (found === undefined) throw new Error(`no container ${name}`);
  return found;
};
/** A container port given by name or number, as Kubernetes resolves a probe's or Service's targetPort. */
const portNumber = (c: Json, port: string | number): number => {
  if (typeof port === "number") return port;
  const found = (c["ports"] as Json[] | undefined)?.find((p) => p["name"] === port);
  if (found === undefined) throw new Error(`container ${c["name"]} has no port named ${port}`);
  return found["containerPort"] as number;
};
const podLabels = (objects: Json[]) =>
  only(objects, "Deployment")["spec"].template.metadata.labels as Record<string, string>;
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The config file the Portcullis container reads: its --config path resolved through its volume mounts. */
function mountedConfig(objects: Json[]): { text: string; file: string } {
  const portcullis = container(objects, "portcullis");
  const args = portcullis["args"] as string[];
  const file = args[args.indexOf("--config") + 1] as string;
  const mount = (portcullis["volumeMounts"] as Json[]).find((m) => file.startsWith(`${m["mountPath"]}/`));
  if (mount === undefined) throw new Error(`nothing is mounted at ${file}`);
  expect(mount["subPath"]).toBeUndefined(); // a subPath mount never sees ConfigMap updates (--watch)
  const volume = (podSpec(objects)["volumes"] as Json[]).find((v) => v["name"] === mount["name"]) as Json;
  const configMap = only(objects, "ConfigMap", volume["configMap"].name);
  const text = configMap["data"][file.slice(`${mount["mountPath"]}/`.length)] as string | undefined;
  if (text === undefined) throw new Error(`ConfigMap ${configMap["metadata"].name} has no key for ${file}`);
  return { text, file };
}

/** The environment the pod gives Portcullis: every secretKeyRef variable set to a stand-in secret. */
function podEnv(objects: Json[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (container(objects, "portcullis")["env"] ?? []) as Json[]) {
    env[e["name"]] = e["value"] ?? `stand-in-for-${e["valueFrom"].secretKeyRef.key}-0123456789abcdef0123456789`;
  }
  return env;
}

/** Where the pod mounts the listeners' TLS Secret (central.yaml), and a stand-in of it on this machine. */
const TLS_MOUNT = "/etc/portcullis-tls/";
function standInTlsSecret(): string {
  const secret = join(dir, "portcullis-tls");
  mkdirSync(secret, { recursive: true });
  const [crt, key] = [join(secret, "tls.crt"), join(secret, "tls.key")];
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=portcullis"],
    ],
    { stdio: "ignore", timeout: 30_000 },
  );
  writeFileSync(join(secret, "ca.crt"), readFileSync(crt));
  return `${secret}/`;
}

function loadMountedConfig(objects: Json[], name: string): { config: PortcullisConfig; warnings: string[] } {
  const { text: mounted } = mountedConfig(objects);
  // The config names the Secret's files where the pod mounts them: here, a stand-in Secret's.
  const text = mounted.includes(TLS_MOUNT) ? mounted.replaceAll(TLS_MOUNT, standInTlsSecret()) : mounted;
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  const result = loadCheckedConfig(file, podEnv(objects));
  if (!result.ok) throw new Error(`config does not load: ${JSON.stringify(result.problems)}`);
  return { config: result.config, warnings: result.warnings.map((w) => w.path) };
}

const dockerfileUid = Number(/^USER (\d+):(\d+)$/m.exec(read("deploy/Dockerfile"))?.[1]);

function expectHardenedPod(objects: Json[]) {
  const spec = podSpec(objects);
  expect(spec["securityContext"].runAsNonRoot).toBe(true);
  expect(spec["securityContext"].runAsUser).toBe(dockerfileUid);
  expect(spec["securityContext"].seccompProfile).toEqual({ type: "RuntimeDefault" });
  expect(spec["automountServiceAccountToken"]).toBe(false);
  for (const c of spec["containers"] as Json[]) {
    const sc = { ...spec["securityContext"], ...c["securityContext"] };
    expect({ container: c["name"], runAsNonRoot: sc.runAsNonRoot, nonZeroUid: sc.runAsUser > 0 }).toEqual({
      container: c["name"],
      runAsNonRoot: true,
      nonZeroUid: true,
    });
    expect(c["securityContext"]).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
  }
}

function expectProbesOnAdminListener(objects: Json[], config: PortcullisConfig) {
  const portcullis = container(objects, "portcullis");
  for (const [probe, path] of [
    ["livenessProbe", "/healthz"],
    ["readinessProbe", "/readyz"],
  ] as const) {
    expect(portcullis[probe].httpGet.path).toBe(path);
    expect(portNumber(portcullis, portcullis[probe].httpGet.port)).toBe(config.listen.admin.port);
  }
  // The kubelet connects to the pod IP: a loopback-only admin listener would fail every probe.
  expect(config.listen.admin.host).toBe("0.0.0.0");
}

function expectGracefulStop(objects: Json[], config: PortcullisConfig) {
  const spec = podSpec(objects);
  const pauses = new Map<string, number>();
  for (const c of spec["containers"] as Json[]) {
    const command = (c["lifecycle"]?.preStop?.exec?.command ?? []) as string[];
    const pause = Number(/(\d+)/.exec(command.join(" "))?.[1] ?? 0) / (command[0] === "node" ? 1000 : 1);
    pauses.set(c["name"], pause);
    expect(spec["terminationGracePeriodSeconds"]).toBeGreaterThan(
      pause + config.shutdown.drainSeconds + config.shutdown.graceSeconds,
    );
  }
  // After SIGTERM Portcullis keeps answering (its drain, after any pause) until the endpoints are
  // gone, and longer than the pod's own Envoy takes requests.
  const portcullisAnswers = (pauses.get("portcullis") ?? 0) + config.shutdown.drainSeconds;
  expect(portcullisAnswers).toBeGreaterThanOrEqual(5);
  if (pauses.has("envoy")) expect(portcullisAnswers).toBeGreaterThan(pauses.get("envoy") ?? 0);
}

function expectSelectorsAgree(objects: Json[]) {
  const labels = podLabels(objects);
  const deployment = only(objects, "Deployment");
  expect(selects(deployment["spec"].selector.matchLabels, labels)).toBe(true);
  expect(selects(only(objects, "PodDisruptionBudget")["spec"].selector.matchLabels, labels)).toBe(true);
  expect(selects(only(objects, "NetworkPolicy")["spec"].podSelector.matchLabels, labels)).toBe(true);
  for (const service of objects.filter((o) => o["kind"] === "Service"))
    expect(selects(service["spec"].selector, labels)).toBe(true);
  const hpa = only(objects, "HorizontalPodAutoscaler");
  expect(hpa["spec"].scaleTargetRef).toEqual({
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: deployment["metadata"].name,
  });
  // With an HPA the Deployment leaves replicas alone, or every `kubectl apply` would reset them.
  expect(deployment["spec"].replicas).toBeUndefined();
  expect(podSpec(objects)["serviceAccountName"]).toBe(only(objects, "ServiceAccount")["metadata"].name);
}

/** Every Service port lands on a named container port of the pod; returns them as name → container port. */
function servicePorts(objects: Json[], serviceName: string): Record<string, { port: number; target: number }> {
  const containers = podSpec(objects)["containers"] as Json[];
  const out: Record<string, { port: number; target: number }> = {};
  for (const p of only(objects, "Service", serviceName)["spec"].ports as Json[]) {
    const owner = containers.find((c) =>
      (c["ports"] as Json[] | undefined)?.some((cp) => cp["name"] === p["targetPort"]),
    );
    if (owner === undefined)
      throw new Error(`Service port ${p["name"]} targets ${p["targetPort"]}, which no container has`);
    out[p["name"]] = { port: p["port"], target: portNumber(owner, p["targetPort"]) };
  }
  return out;
}

/** The container ports the NetworkPolicy opens, resolved to numbers. */
function openPorts(objects: Json[]): number[] {
  const containers = podSpec(objects)["containers"] as Json[];
  const rules = only(objects, "NetworkPolicy")["spec"].ingress as Json[];
  return rules
    .flatMap((r) => r["ports"] as Json[])
    .map((p) => {
      const owner = containers.find((c) => (c["ports"] as Json[] | undefined)?.some((cp) => cp["name"] === p["port"]));
      if (owner === undefined) throw new Error(`NetworkPolicy opens ${p["port"]}, which no container has`);
      return portNumber(owner, p["port"]);
    })
    .sort((a, b) => a - b);
}

describe("deploy/helm/portcullis/Chart.yaml", () => {
  it("deploys the Portcullis version in package.json", () => {
    const chart = parse(read("deploy/helm/portcullis/Chart.yaml")) as Json;
    expect(chart["apiVersion"]).toBe("v2");
    expect(chart["appVersion"]).toBe(packageVersion);
  });
});

describe("deploy/kubernetes/central.yaml", () => {
  const objects = objectsOf("deploy/kubernetes/central.yaml");
  const { config, warnings } = loadMountedConfig(objects, "central");

  it("holds a Deployment, its Services, PDB, HPA, ConfigMap, ServiceAccount and NetworkPolicy, all in one namespace", () => {
    expect(objects.map((o) => o["kind"]).sort()).toEqual([
      "ConfigMap",
      "Deployment",
      "HorizontalPodAutoscaler",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Service",
      "Service",
      "ServiceAccount",
    ]);
    expect(new Set(objects.map((o) => o["metadata"].namespace))).toEqual(new Set(["portcullis-system"]));
    expect(container(objects, "portcullis")["image"]).toBe(`portcullis:${packageVersion}`);
  });

  it("runs every container as the image's non-root uid with a read-only root filesystem and no capabilities", () => {
    expectHardenedPod(objects);
    const tmp = (container(objects, "portcullis")["volumeMounts"] as Json[]).find((m) => m["mountPath"] === "/tmp");
    expect(tmp).toBeDefined(); // HOME=/tmp in the image: the one writable place
  });

  it("mounts a config that loads with the pod's environment, the admin listener's warning the only one", () => {
    expect(container(objects, "portcullis")["args"]).toEqual([
      "serve",
      "--config",
      "/etc/portcullis/config.yaml",
      "--watch",
    ]);
    expect(warnings).toEqual(["listen.admin"]);
    expect(config.routes.length).toBeGreaterThan(0);
  });

  it("serves the grpc and auth listeners over TLS from the mounted Secret, Envoy's client certificate required", () => {
    expect(mountedConfig(objects).text).toContain("certFile: /etc/portcullis-tls/tls.crt");
    expect(config.listen.tls).toMatchObject({ requireClientCertificate: true, minVersion: "TLSv1.2" });
    expect(config.listen.tls.clientCaFile).toMatch(/\/ca\.crt$/);
    const mount = (container(objects, "portcullis")["volumeMounts"] as Json[]).find(
      (m) => m["name"] === "listener-tls",
    );
    expect(mount).toEqual({ name: "listener-tls", mountPath: "/etc/portcullis-tls", readOnly: true });
    const volume = (podSpec(objects)["volumes"] as Json[]).find((v) => v["name"] === "listener-tls");
    expect(volume).toEqual({ name: "listener-tls", secret: { secretName: "portcullis-tls" } });
  });

  it("gives the pod every ${VAR} the config names, from a Secret, and never a secret value in the ConfigMap", () => {
    const names = [...mountedConfig(objects).text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
    const env = container(objects, "portcullis")["env"] as Json[];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const entry = env.find((e) => e["name"] === name);
      expect({ name, secret: entry?.["valueFrom"]?.secretKeyRef?.name }).toEqual({
        name,
        secret: "portcullis-secrets",
      });
    }
  });

  it("probes /healthz and /readyz on the port the admin listener binds on 0.0.0.0", () => {
    expectProbesOnAdminListener(objects, config);
  });

  it("serves ext_authz on the Service's grpc port and the auth endpoints on its auth port, where the config listens", () => {
    const ports = servicePorts(objects, "portcullis");
    expect(ports["grpc"]).toEqual({ port: config.listen.grpc.port, target: config.listen.grpc.port });
    expect(ports["http-auth"]).toEqual({ port: config.listen.auth.port, target: config.listen.auth.port });
    expect(ports["http-metrics"]?.target).toBe(config.listen.admin.port);
    expect([config.listen.grpc.host, config.listen.auth.host]).toEqual(["0.0.0.0", "0.0.0.0"]);
    const headless = only(objects, "Service", "portcullis-headless");
    expect(headless["spec"].clusterIP).toBe("None");
    expect(Object.keys(servicePorts(objects, "portcullis-headless"))).toEqual(["grpc"]);
  });

  it("selects its own pods from the Services, PDB, NetworkPolicy and HPA", () => {
    expectSelectorsAgree(objects);
  });

  it("opens only the grpc, auth and admin ports", () => {
    expect(openPorts(objects)).toEqual(
      [config.listen.auth.port, config.listen.grpc.port, config.listen.admin.port].sort((a, b) => a - b),
    );
  });

  it("stops after the endpoints are gone and within the grace period", () => {
    expectGracefulStop(objects, config);
  });
});

describe("deploy/kubernetes/sidecar.yaml", () => {
  const objects = objectsOf("deploy/kubernetes/sidecar.yaml");
  const { config, warnings } = loadMountedConfig(objects, "sidecar");
  const envoyContainer = container(objects, "envoy");
  const envoyConfigMap = only(objects, "ConfigMap", "shop-portcullis-envoy");
  const envoy = parse(envoyConfigMap["data"]["envoy.yaml"] as string) as Json;
  const listener = (name: string) =>
    (envoy["static_resources"].listeners as Json[]).find((l) => l["name"] === name) as Json;
  const hcmOf = (l: Json) => l["filter_chains"][0].filters[0].typed_config as Json;
  const cluster = (name: string) => {
    const c = (envoy["static_resources"].clusters as Json[]).find((x) => x["name"] === name) as Json;
    return c["load_assignment"].endpoints[0].lb_endpoints[0].endpoint.address.socket_address as {
      address: string;
      port_value: number;
    };
  };
  const appPort = portNumber(container(objects, "app"), "app");

  it("puts the app, Envoy and Portcullis in one pod, every container hardened", () => {
    expect((podSpec(objects)["containers"] as Json[]).map((c) => c["name"])).toEqual(["app", "envoy", "portcullis"]);
    expectHardenedPod(objects);
    expect(envoyContainer["image"]).toBe(`envoyproxy/envoy:v${pinnedEnvoy}`);
  });

  it("keeps Portcullis's grpc and auth listeners on loopback and its admin listener on 0.0.0.0 for the probes", () => {
    expect(warnings).toEqual(["listen.admin"]);
    expect(config.listen.grpc.host).toBe("127.0.0.1");
    expect(config.listen.auth.host).toBe("127.0.0.1");
    expectProbesOnAdminListener(objects, config);
  });

  it("runs Envoy on the mounted config, which checks with Portcullis on loopback and forwards to the app's port", () => {
    const args = envoyContainer["args"] as string[];
    const file = args[args.indexOf("-c") + 1] as string;
    const mount = (envoyContainer["volumeMounts"] as Json[]).find(
      (m) => file === `${m["mountPath"]}/envoy.yaml`,
    ) as Json;
    const volume = (podSpec(objects)["volumes"] as Json[]).find((v) => v["name"] === mount["name"]) as Json;
    expect(volume["configMap"].name).toBe(envoyConfigMap["metadata"].name);
    expect(cluster("portcullis_ext_authz")).toEqual({ address: "127.0.0.1", port_value: config.listen.grpc.port });
    expect(cluster("portcullis_auth")).toEqual({ address: "127.0.0.1", port_value: config.listen.auth.port });
    expect(cluster("app")).toEqual({ address: "127.0.0.1", port_value: appPort });
    expect(envoy["admin"].address.socket_address.address).toBe("127.0.0.1");
  });

  it("fails closed and lets only /oauth2/ and the assertion keys past ext_authz, to Portcullis's auth listener", () => {
    const hcm = hcmOf(listener("main"));
    expect(hcm["http_filters"].map((f: Json) => f["name"])).toEqual([
      "envoy.filters.http.ext_authz",
      "envoy.filters.http.router",
    ]);
    expect(hcm["http_filters"][0].typed_config.failure_mode_allow).toBe(false);
    expect(hcm["http_filters"][0].typed_config.grpc_service.envoy_grpc.cluster_name).toBe("portcullis_ext_authz");
    expect(hcm["normalize_path"]).toBe(true);
    expect(hcm["merge_slashes"]).toBe(true);
    expect(hcm["common_http_protocol_options"].headers_with_underscores_action).toBe("REJECT_REQUEST");
    const routes = hcm["route_config"].virtual_hosts.flatMap((v: Json) => v["routes"]) as Json[];
    // Routes that forward without ext_authz (Envoy's own 400 answers forward nothing).
    const skipping = routes.filter(
      (r) =>
        r["route"] !== undefined && r["typed_per_filter_config"]?.["envoy.filters.http.ext_authz"]?.disabled === true,
    );
    // The assertion's public keys and discovery document by exact path; the login endpoints by prefix.
    expect(skipping.map((r) => [r["match"].prefix ?? r["match"].path, r["route"].cluster])).toEqual([
      ["/.well-known/jwks.json", "portcullis_auth"],
      ["/.well-known/openid-configuration", "portcullis_auth"],
      ["/oauth2/", "portcullis_auth"],
    ]);
    expect(routes.at(-1)).toMatchObject({ match: { prefix: "/" }, route: { cluster: "app" } });
  });

  it("answers the kubelet's Envoy probe from a listener that reaches nothing but Envoy's /ready", () => {
    const health = listener("health");
    expect(health["address"].socket_address.port_value).toBe(
      portNumber(envoyContainer, envoyContainer["readinessProbe"].httpGet.port),
    );
    expect(envoyContainer["readinessProbe"].httpGet.path).toBe("/ready");
    const routes = hcmOf(health)["route_config"].virtual_hosts.flatMap((v: Json) => v["routes"]) as Json[];
    const forwarded = routes.filter((r) => r["route"] !== undefined);
    expect(forwarded.map((r) => [r["match"].path, r["route"].cluster])).toEqual([["/ready", "envoy_admin"]]);
    expect(cluster("envoy_admin")).toEqual({
      address: "127.0.0.1",
      port_value: envoy["admin"].address.socket_address.port_value,
    });
  });

  it("exposes Envoy, never the app's own port, through the Service and the NetworkPolicy", () => {
    const ports = servicePorts(objects, "shop-portcullis");
    expect(ports["http"]?.target).toBe(listener("main")["address"].socket_address.port_value);
    expect(Object.values(ports).map((p) => p.target)).not.toContain(appPort);
    expect(openPorts(objects)).not.toContain(appPort);
    expect(openPorts(objects)).toContain(config.listen.admin.port);
    expectSelectorsAgree(objects);
  });

  it("rolls the pods when the Envoy config changes (Envoy reads it once)", () => {
    const annotations = only(objects, "Deployment")["spec"].template.metadata.annotations as Record<string, string>;
    const text = (envoyConfigMap["data"]["envoy.yaml"] as string).replace(/\n$/, "");
    expect(annotations["checksum/envoy-config"]).toBe(createHash("sha256").update(text).digest("hex"));
  });

  it("stops after the endpoints are gone and within the grace period", () => {
    expectGracefulStop(objects, config);
  });
});
