// The chart's PrometheusRule and Grafana dashboard ConfigMap (off by default): the rules are
// deploy/prometheus/portcullis-alerts.yaml with the ServiceMonitor's job and the runbook base URL
// put in, and promtool checks them and runs the alerts' unit tests against them as rendered; the
// dashboard is deploy/grafana/portcullis-dashboard.json for Grafana's sidecar.
// Needs HELM_BIN and PROMTOOL_BIN (bin/test sets both).
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
const read = (path: string) => readFile(join(ROOT, path), "utf8");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-observability-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function render(...set: string[]): Promise<Json[]> {
  const args = ["template", "portcullis", CHART, "-n", "auth", "-f", KEYCLOAK, ...set.flatMap((s) => ["--set", s])];
  return parseAllDocuments(await runHelm(dir, args))
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
}
const ofKind = (objects: Json[], kind: string) => objects.filter((o) => o["kind"] === kind);
const alertsOf = (rule: Json): Json[] => (rule["spec"].groups as Json[]).flatMap((g) => g["rules"] as Json[]);

async function promtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const bin = process.env["PROMTOOL_BIN"];
  if (bin === undefined || bin === "") throw new Error("PROMTOOL_BIN is not set: run the suite with bin/test");
  return run(bin, args, { cwd, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      output: `${err.stdout}${err.stderr}`,
    }),
  );
}

describe("the chart's PrometheusRule", () => {
  it("is rendered only with prometheusRule.enabled, like the dashboard ConfigMap with grafanaDashboard.enabled", async () => {
    const objects = await render();
    expect(ofKind(objects, "PrometheusRule")).toEqual([]);
    expect(ofKind(objects, "ConfigMap").map((c) => c["metadata"].name)).not.toContain("portcullis-dashboard");
  });

  it("holds the rule file's groups, which promtool checks and whose unit tests pass against it", async () => {
    const [rule] = ofKind(
      await render("prometheusRule.enabled=true", "prometheusRule.labels.release=prom"),
      "PrometheusRule",
    );
    expect(rule?.["metadata"]).toMatchObject({ name: "portcullis", namespace: "auth", labels: { release: "prom" } });
    const file = parse(await read("deploy/prometheus/portcullis-alerts.yaml")) as Json;
    expect(rule?.["spec"]).toEqual({ groups: file["groups"] });
    // The rendered rules in place of the file: promtool's check and the alerts' own unit tests.
    await writeFile(join(dir, "portcullis-alerts.yaml"), stringify(rule?.["spec"]));
    await copyFile(join(ROOT, "deploy/prometheus/portcullis-alerts.test.yaml"), join(dir, "alerts.test.yaml"));
    const checked = await promtool(["check", "rules", "portcullis-alerts.yaml"], dir);
    expect(checked.output).toContain(`SUCCESS: ${alertsOf(rule as Json).length} rules found`);
    const tested = await promtool(["test", "rules", "alerts.test.yaml"], dir);
    expect(tested, tested.output).toMatchObject({ code: 0 });
  });

  it("selects the job the ServiceMonitor gives its targets, the Service's app.kubernetes.io/name", async () => {
    const objects = await render(
      "prometheusRule.enabled=true",
      "serviceMonitor.enabled=true",
      "nameOverride=edge-auth",
    );
    const [monitor] = ofKind(objects, "ServiceMonitor");
    const service = ofKind(objects, "Service").find((s) => s["metadata"].name === "portcullis-edge-auth") as Json;
    const job = service["metadata"].labels[monitor?.["spec"].jobLabel] as string;
    expect(job).toBe("edge-auth");
    const exprs = alertsOf(ofKind(objects, "PrometheusRule")[0] as Json).map((a) => String(a["expr"]));
    expect(exprs.filter((e) => e.includes("job="))).toEqual([`up{job="${job}"} == 0`, `absent(up{job="${job}"})`]);
    expect(exprs.join("\n")).not.toContain('job="portcullis"');
  });

  it("puts runbookBaseUrl in front of each runbook_url, and leaves the docs path without it", async () => {
    const base = "https://git.example.com/portcullis/-/blob/main";
    for (const [set, prefix] of [
      [[], ""],
      [[`prometheusRule.runbookBaseUrl=${base}/`], `${base}/`],
    ] as const) {
      const [rule] = ofKind(await render("prometheusRule.enabled=true", ...set), "PrometheusRule");
      for (const alert of alertsOf(rule as Json))
        expect(alert["annotations"].runbook_url).toBe(
          `${prefix}docs/runbooks.md#${String(alert["alert"]).toLowerCase()}`,
        );
    }
  });
});

describe("the chart's Grafana dashboard ConfigMap", () => {
  it("holds the dashboard JSON under the label Grafana's sidecar loads, in the namespace asked for", async () => {
    const objects = await render("grafanaDashboard.enabled=true", "grafanaDashboard.namespace=monitoring");
    const [dashboard] = ofKind(objects, "ConfigMap").filter((c) => c["metadata"].name === "portcullis-dashboard");
    expect(dashboard?.["metadata"].namespace).toBe("monitoring");
    expect(dashboard?.["metadata"].labels["grafana_dashboard"]).toBe("1");
    const json = dashboard?.["data"]["portcullis-dashboard.json"] as string;
    expect(json).toBe((await read("deploy/grafana/portcullis-dashboard.json")).trimEnd());
    expect((JSON.parse(json) as Json)["uid"]).toBe("portcullis");
  });
});
