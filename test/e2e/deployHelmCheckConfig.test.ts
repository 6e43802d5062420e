// The chart's check-config init container, run as the kubelet would: `helm template`, then the pod's
// volumes laid out under a directory (each ConfigMap's keys as files at the mount path), the
// container's env with the Secret's values, and the real CLI run with the container's args. A good
// config passes; one that the values schema lets through but Portcullis refuses (a route naming an
// unknown provider, a session key in the Secret too short) stops the pod there with its key path.
// The pre-install/pre-upgrade hook Job runs the same check before Helm applies a new config. Also:
// extraVolumes/extraVolumeMounts/extraEnv (a private CA), startupProbe and priorityClassName.
// Needs HELM_BIN (bin/test sets it).
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { runHelm } from "../harness/runHelm.ts";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
const KEYCLOAK = `${CHART}/examples/values-keycloak.yaml`;
const MAIN = join(ROOT, "src/cli/main.ts");
const SECRETS: Record<string, string> = {
  "client-secret": "keycloak-client-secret-stand-in",
  "session-key": "a-session-key-of-forty-characters-000000",
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-check-config-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function render(values: Json, ...set: string[]): Promise<Json[]> {
  const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(values));
  const args = ["template", "portcullis", CHART, "-n", "portcullis-system", "-f", file];
  const out = await runHelm(dir, [...args, ...set.flatMap((s) => ["--set", s])]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
}

const keycloakValues = async (): Promise<Json> => parse(await readFile(join(ROOT, KEYCLOAK), "utf8")) as Json;
const podSpec = (objects: Json[]): Json =>
  (objects.find((o) => o["kind"] === "Deployment") as Json)["spec"].template.spec as Json;
const portcullisContainer = (objects: Json[]): Json =>
  (podSpec(objects)["containers"] as Json[]).find((c) => c["name"] === "portcullis") as Json;
const initContainers = (objects: Json[]): Json[] => (podSpec(objects)["initContainers"] ?? []) as Json[];

/** Runs a container's args with the real CLI in a stand-in of its pod's filesystem; exit code and output. */
async function runAsKubelet(objects: Json[], container: Json, secrets: Record<string, string>, pod = podSpec(objects)) {
  const root = await mkdtemp(join(dir, "pod-"));
  const volumes = pod["volumes"] as Json[];
  for (const mount of container["volumeMounts"] as Json[]) {
    const volume = volumes.find((v) => v["name"] === mount["name"]) as Json;
    const at = join(root, mount["mountPath"]);
    await mkdir(at, { recursive: true });
    if (volume["configMap"] === undefined) continue;
    const configMap = objects.find((o) => o["kind"] === "ConfigMap" && o["metadata"].name === volume["configMap"].name);
    for (const [key, text] of Object.entries((configMap as Json)["data"] as Record<string, string>))
      await writeFile(join(at, key), text);
  }
  const env = Object.fromEntries(
    (container["env"] as Json[]).map((e) => [e["name"], e["value"] ?? secrets[e["valueFrom"].secretKeyRef.key]]),
  );
  const args = (container["args"] as string[]).map((a) => (a.startsWith("/") ? join(root, a) : a));
  return run(process.execPath, ["--disable-warning=ExperimentalWarning", MAIN, ...args], {
    cwd: ROOT,
    timeout: 60_000,
    env: { PATH: process.env["PATH"] ?? "", HOME: join(root, "tmp"), ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

describe("the check-config init container", () => {
  it("runs check-config on the file serve reads, with the Portcullis container's image, env, mounts and hardening", async () => {
    for (const mode of ["central", "sidecar"]) {
      const objects = await render(await keycloakValues(), `mode=${mode}`);
      const [init, ...more] = initContainers(objects);
      const portcullis = portcullisContainer(objects);
      expect(more).toEqual([]);
      expect(init?.["name"]).toBe("check-config");
      const serveArgs = portcullis["args"] as string[];
      expect(serveArgs[0]).toBe("serve");
      expect(init?.["args"]).toEqual(["check-config", "--config", serveArgs[serveArgs.indexOf("--config") + 1]]);
      for (const key of ["image", "imagePullPolicy", "env", "volumeMounts", "securityContext", "resources"])
        expect(init?.[key], key).toEqual(portcullis[key]);
    }
  });

  it("passes the Keycloak example with the Secret's values, as the kubelet would run it", async () => {
    const objects = await render(await keycloakValues());
    const { code, stdout } = await runAsKubelet(objects, initContainers(objects)[0] as Json, SECRETS);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^config ok: /);
  });

  it("stops the pod on a route naming an unknown provider, which the values schema lets through, with its key path", async () => {
    const values = await keycloakValues();
    values["config"].routes[1].providers = ["keycloack"];
    const objects = await render(values);
    const { code, stderr } = await runAsKubelet(objects, initContainers(objects)[0] as Json, SECRETS);
    expect(code).toBe(1);
    expect(stderr).toContain('error: routes[1].providers[0]: unknown provider "keycloack"');
  });

  it("stops the pod when the Secret's session key is too short, never printing it", async () => {
    const objects = await render(await keycloakValues());
    const secrets = { ...SECRETS, "session-key": "short-key-123" };
    const { code, stderr } = await runAsKubelet(objects, initContainers(objects)[0] as Json, secrets);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: session\.keys\[0\]: /m);
    expect(stderr).not.toContain("short-key-123");
  });

  it("is left out with checkConfig.initContainer false", async () => {
    expect(initContainers(await render(await keycloakValues(), "checkConfig.initContainer=false"))).toEqual([]);
  });
});

describe("the pre-install/pre-upgrade check-config hook", () => {
  const hookObjects = (objects: Json[]) =>
    objects.filter((o) => o["metadata"].annotations?.["helm.sh/hook"] === "pre-install,pre-upgrade");
  const job = (objects: Json[]) => objects.find((o) => o["kind"] === "Job") as Json;

  it("is a ConfigMap holding the release's config and then a Job, both before install and upgrade", async () => {
    const objects = await render(await keycloakValues());
    const hooks = hookObjects(objects);
    expect(hooks.map((o) => `${o["kind"]} ${o["metadata"].name}`)).toEqual([
      "ConfigMap portcullis-check-config",
      "Job portcullis-check-config",
    ]);
    const [configMap, checkJob] = hooks as [Json, Json];
    const weight = (o: Json) => Number(o["metadata"].annotations["helm.sh/hook-weight"]);
    expect(weight(configMap)).toBeLessThan(weight(checkJob));
    const release = objects.find((o) => o["kind"] === "ConfigMap" && o["metadata"].name === "portcullis") as Json;
    expect(parse(configMap["data"]["config.yaml"])).toEqual(parse(release["data"]["config.yaml"]));
    // Kept when it fails, for its log; replaced by the next attempt.
    expect(checkJob["metadata"].annotations["helm.sh/hook-delete-policy"]).toBe("before-hook-creation,hook-succeeded");
    expect(checkJob["spec"]).toMatchObject({ backoffLimit: 0, template: { spec: { restartPolicy: "Never" } } });
    // A mesh sidecar would never exit, and the Job would never complete.
    expect(checkJob["spec"].template.metadata.annotations).toEqual({
      "sidecar.istio.io/inject": "false",
      "linkerd.io/inject": "disabled",
    });
  });

  it("runs the init container's check on the hook's ConfigMap: the example passes, an unknown provider fails", async () => {
    const good = await render(await keycloakValues());
    const [container] = job(good)["spec"].template.spec.containers as Json[];
    expect(container).toEqual(initContainers(good)[0]);
    const passed = await runAsKubelet(good, container as Json, SECRETS, job(good)["spec"].template.spec);
    expect(passed.code).toBe(0);
    const values = await keycloakValues();
    values["config"].routes[1].providers = ["keycloack"];
    const bad = await render(values);
    const badJob = job(bad)["spec"].template.spec;
    const failed = await runAsKubelet(bad, badJob.containers[0], SECRETS, badJob);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('error: routes[1].providers[0]: unknown provider "keycloack"');
  });

  it("runs a pod no Service, PDB or NetworkPolicy of the release selects", async () => {
    const objects = await render(await keycloakValues());
    const labels = job(objects)["spec"].template.metadata.labels as Record<string, string>;
    const selectors = objects
      .filter((o) => ["Service", "PodDisruptionBudget", "NetworkPolicy"].includes(o["kind"]))
      .map((o) =>
        o["kind"] === "Service" ? o["spec"].selector : (o["spec"].selector ?? o["spec"].podSelector).matchLabels,
      );
    expect(selectors.length).toBeGreaterThan(2);
    for (const selector of selectors)
      expect(Object.entries(selector as Json).every(([k, v]) => labels[k] === v)).toBe(false);
  });

  it("is left out with checkConfig.hook false, and of deploy/kubernetes/ (kubectl apply has no hooks)", async () => {
    expect(hookObjects(await render(await keycloakValues(), "checkConfig.hook=false"))).toEqual([]);
    for (const file of ["central.yaml", "sidecar.yaml"]) {
      const text = await readFile(join(ROOT, "deploy/kubernetes", file), "utf8");
      expect(text).toMatch(/^#\s+helm template .* --no-hooks /m);
      expect(text).not.toContain("helm.sh/hook");
    }
  });
});

describe("the pod's extras", () => {
  it("mounts extraVolumes where extraVolumeMounts say, in Portcullis and its init container, with extraEnv's NODE_EXTRA_CA_CERTS", async () => {
    const values = {
      ...(await keycloakValues()),
      extraVolumes: [{ name: "corp-ca", configMap: { name: "corp-ca" } }],
      extraVolumeMounts: [{ name: "corp-ca", mountPath: "/etc/portcullis-ca", readOnly: true }],
      extraEnv: [{ name: "NODE_EXTRA_CA_CERTS", value: "/etc/portcullis-ca/ca.crt" }],
    };
    const objects = await render(values);
    expect(podSpec(objects)["volumes"]).toContainEqual({ name: "corp-ca", configMap: { name: "corp-ca" } });
    for (const container of [portcullisContainer(objects), initContainers(objects)[0] as Json]) {
      expect(container["volumeMounts"]).toContainEqual(values.extraVolumeMounts[0]);
      expect(container["env"]).toContainEqual(values.extraEnv[0]);
    }
  });

  it("refuses an extra mount over or inside the chart's /etc/portcullis, or over /tmp", async () => {
    for (const mountPath of ["/etc/portcullis", "/etc/portcullis/ca", "/tmp"]) {
      const values = { ...(await keycloakValues()), extraVolumeMounts: [{ name: "x", mountPath }] };
      await expect(render(values)).rejects.toThrow(/at '\/extraVolumeMounts\/0\/mountPath'/);
    }
  });

  it("refuses an extra volume named like one of the chart's", async () => {
    for (const name of ["config", "tmp"]) {
      const values = { ...(await keycloakValues()), extraVolumes: [{ name, emptyDir: {} }] };
      await expect(render(values)).rejects.toThrow(/at '\/extraVolumes\/0\/name'/);
    }
  });

  it("gives Portcullis a startupProbe on /healthz, so a slow start is not killed by the liveness probe; null leaves it out", async () => {
    const startup = portcullisContainer(await render(await keycloakValues()))["startupProbe"];
    expect(startup).toEqual({
      httpGet: { path: "/healthz", port: "admin" },
      periodSeconds: 2,
      timeoutSeconds: 2,
      failureThreshold: 30,
    });
    const values = { ...(await keycloakValues()), probes: { startup: null } };
    expect(portcullisContainer(await render(values))["startupProbe"]).toBeUndefined();
  });

  it("sets priorityClassName when given and leaves it out by default", async () => {
    expect(podSpec(await render(await keycloakValues()))["priorityClassName"]).toBeUndefined();
    const objects = await render(await keycloakValues(), "priorityClassName=platform-critical");
    expect(podSpec(objects)["priorityClassName"]).toBe("platform-critical");
  });
});
