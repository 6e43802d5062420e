// The chart's `tls` values (central mode): the Secret named by tls.secretName is mounted as a
// directory at /etc/portcullis-tls in the Portcullis container, its check-config init container and
// the check-config hook Job, and the config's listen.tls points at its files (ca.crt only when client
// certificates are verified); left empty, nothing TLS is rendered; sidecar mode refuses it.
// Needs HELM_BIN (bin/test sets it).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { runHelm } from "../harness/runHelm.ts";

type Json = Record<string, any>;
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-tls-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function render(...set: string[]): Promise<Json[]> {
  const values = parse(await readFile(join(ROOT, CHART, "examples/values-keycloak.yaml"), "utf8")) as Json;
  const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(values));
  const out = await runHelm(dir, [
    "template",
    "portcullis",
    CHART,
    "-n",
    "portcullis-system",
    "-f",
    file,
    ...set.flatMap((s) => ["--set", s]),
  ]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
}

const deployment = (objects: Json[]) => objects.find((o) => o["kind"] === "Deployment") as Json;
const hookJob = (objects: Json[]) => objects.find((o) => o["kind"] === "Job") as Json;
const configOf = (objects: Json[]) => {
  const map = objects.find((o) => o["kind"] === "ConfigMap" && o["metadata"].name === "portcullis") as Json;
  return parse(map["data"]["config.yaml"]) as Json;
};
const TLS_MOUNT = { name: "listener-tls", mountPath: "/etc/portcullis-tls", readOnly: true };
const TLS_VOLUME = { name: "listener-tls", secret: { secretName: "portcullis-tls" } };

describe("the chart's tls values", () => {
  it("mount the Secret in every container that reads the config and point listen.tls at its files", async () => {
    const objects = await render("tls.secretName=portcullis-tls");
    expect(configOf(objects)["listen"].tls).toEqual({
      certFile: "/etc/portcullis-tls/tls.crt",
      keyFile: "/etc/portcullis-tls/tls.key",
      clientCaFile: "/etc/portcullis-tls/ca.crt",
      minVersion: "TLSv1.2",
    });
    const pod = deployment(objects)["spec"].template.spec as Json;
    expect(pod["volumes"]).toContainEqual(TLS_VOLUME);
    for (const container of [...pod["containers"], ...pod["initContainers"]].filter((c: Json) => c["name"] !== "envoy"))
      expect(container["volumeMounts"], container["name"]).toContainEqual(TLS_MOUNT);
    const job = hookJob(objects)["spec"].template.spec as Json;
    expect(job["volumes"]).toContainEqual(TLS_VOLUME);
    expect(job["containers"][0].volumeMounts).toContainEqual(TLS_MOUNT);
  });

  it("leave ca.crt out when client certificates are not verified, and pass the minimum version", async () => {
    const objects = await render(
      "tls.secretName=portcullis-tls",
      "tls.verifyClientCertificates=false",
      "tls.minVersion=TLSv1.3",
    );
    expect(configOf(objects)["listen"].tls).toEqual({
      certFile: "/etc/portcullis-tls/tls.crt",
      keyFile: "/etc/portcullis-tls/tls.key",
      minVersion: "TLSv1.3",
    });
  });

  it("render plaintext listeners and no Secret when secretName is empty (the default)", async () => {
    const objects = await render();
    expect(configOf(objects)["listen"].tls).toBeUndefined();
    expect(JSON.stringify(objects)).not.toContain("listener-tls");
  });

  it("are refused in sidecar mode, where Envoy reaches Portcullis over loopback", async () => {
    await expect(render("mode=sidecar", "tls.secretName=portcullis-tls")).rejects.toThrow(
      /tls\.secretName is for central mode/,
    );
  });
});
