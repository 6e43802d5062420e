// The Grafana dashboard and the Prometheus alert rules are well formed and speak our metrics'
// language: every label they match or group by exists on the metric, every value they match on a
// closed label is one Portcullis emits, and the rule file has the structure Prometheus loads.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { codesOn } from "../../src/errors/ErrorCode.ts";
import { headingAnchors } from "../harness/headingAnchors.ts";
import { createMetrics } from "../../src/observability/Metrics.ts";
import {
  alertExpressions,
  dashboardExpressions,
  familyOf,
  isOwnMetric,
  groupingLabels,
  matchers,
  metricNames,
  readDashboard,
  readRuleFile,
} from "./deployPromql.ts";

const dashboard = readDashboard();
const rules = readRuleFile();
// With a Redis configured, as the dashboard's Redis panels and the Redis alerts assume.
const registry = createMetrics({ redisUp: () => true }).registry;
const histograms = new Set(
  registry
    .getMetricsAsArray()
    .filter((m) => (m as unknown as { type?: string }).type === "histogram" || m.constructor.name === "Histogram")
    .map((m) => (m as unknown as { name: string }).name),
);
const labelNamesOf = (family: string): string[] | undefined => {
  const metric = registry.getSingleMetric(family) as unknown as { labelNames?: string[] } | undefined;
  return metric === undefined ? undefined : [...(metric.labelNames ?? [])];
};
// Labels Prometheus adds to every series (namespace where it discovers targets in Kubernetes, as a
// ServiceMonitor does).
const TARGET_LABELS = ["job", "namespace", "instance"];

/** Closed label value sets, from the code (reasons) and from the metric help texts (`result (a|b)`). */
function allowedValues(family: string, label: string): Set<string> | null {
  if (label === "reason" && family === "portcullis_checks_total")
    return new Set([...codesOn("check"), "public", "anonymous", "authenticated"]);
  if (label === "reason" && family === "portcullis_logins_total") return new Set([...codesOn("callback"), "ok"]);
  const help = (registry.getSingleMetric(family) as unknown as { help: string } | undefined)?.help ?? "";
  const set = new RegExp(`\\b${label} \\(([a-z_]+(?:\\|[a-z_]+)+)\\)`).exec(help);
  return set === null ? null : new Set((set[1] as string).split("|"));
}

const sources: Array<[string, string[]]> = [
  ["dashboard", dashboardExpressions(dashboard)],
  ["alert rules", alertExpressions(rules)],
];

describe("deploy/prometheus/portcullis-alerts.yaml", () => {
  it("is a plain Prometheus rule file: named groups of alerts, each with expr, for, a severity and a summary and description", () => {
    expect(Object.keys(rules)).toEqual(["groups"]);
    expect(rules.groups.length).toBeGreaterThan(0);
    expect(new Set(rules.groups.map((g) => g.name)).size).toBe(rules.groups.length);
    const names: string[] = [];
    for (const group of rules.groups) {
      expect(group.name).toMatch(/^portcullis\.[a-z-]+$/);
      expect(group.rules.length).toBeGreaterThan(0);
      for (const rule of group.rules) {
        expect(Object.keys(rule).sort()).toEqual(["alert", "annotations", "expr", "for", "labels"]);
        expect(rule.alert).toMatch(/^Portcullis[A-Z][A-Za-z]+$/);
        names.push(rule.alert as string);
        expect(typeof rule.expr).toBe("string");
        expect(rule.for).toMatch(/^\d+[smh]$/);
        expect(Object.keys(rule.labels ?? {})).toEqual(["severity"]);
        expect(["critical", "warning"]).toContain(rule.labels?.["severity"]);
        expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(["description", "runbook_url", "summary"]);
        for (const text of Object.values(rule.annotations ?? {})) expect(typeof text).toBe("string");
      }
    }
    expect(new Set(names).size).toBe(names.length);
  });

  it("alerts on an instance down, fault denials, a provider not ready, JWKS errors, login and refresh failures, a refused reload and a slow Check p99", () => {
    const byName = new Map(
      rules.groups.flatMap((g) => g.rules.map((r) => [r.alert as string, String(r.expr)] as const)),
    );
    expect(byName.get("PortcullisInstanceDown")).toMatch(/\bup\{job="portcullis"\} == 0/);
    expect(byName.get("PortcullisFaultDenials")).toMatch(/reason=~"[^"]*internal_error[^"]*"/);
    expect(byName.get("PortcullisFaultDenials")).toMatch(/reason=~"[^"]*idp_unavailable[^"]*"/);
    expect(byName.get("PortcullisProviderNotReady")).toMatch(/portcullis_provider_ready == 0/);
    expect(byName.get("PortcullisJwksFetchErrors")).toMatch(/portcullis_jwks_fetches_total\{result="error"\}/);
    expect(byName.get("PortcullisLoginFailures")).toMatch(/portcullis_logins_total\{result="failed"\}/);
    expect(byName.get("PortcullisSessionRefreshFailures")).toMatch(
      /portcullis_session_refreshes_total\{result="unavailable"\}/,
    );
    expect(byName.get("PortcullisConfigReloadFailed")).toMatch(
      /portcullis_config_reloads_total\{result=~"invalid\|error"\}/,
    );
    expect(byName.get("PortcullisCheckLatencyHigh")).toMatch(
      /histogram_quantile\(0\.99, .*portcullis_check_duration_seconds_bucket/,
    );
  });

  it("alerts on Redis down or failing and on back-channel logouts refused or not applied, never on replays", () => {
    const byName = new Map(
      rules.groups.flatMap((g) => g.rules.map((r) => [r.alert as string, String(r.expr)] as const)),
    );
    expect(byName.get("PortcullisRedisDown")).toMatch(/portcullis_redis_up == 0/);
    expect(byName.get("PortcullisRedisErrors")).toMatch(/portcullis_redis_operations_total\{result="error"\}/);
    expect(byName.get("PortcullisBackchannelLogoutsFailing")).toMatch(
      /portcullis_backchannel_logouts_total\{result=~"invalid\|unavailable"\}/,
    );
    expect(byName.get("PortcullisBackchannelLogoutsFailing")).not.toContain("replayed");
  });

  it("alerts when Prometheus finds no Portcullis at all, where InstanceDown has no series to fire on", () => {
    const absent = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === "PortcullisAbsent");
    expect(absent?.expr).toBe('absent(up{job="portcullis"})');
    expect(absent?.labels?.["severity"]).toBe("critical");
  });

  it("keeps job and namespace apart in every alert that sums over instances", () => {
    for (const expr of alertExpressions(rules)) {
      for (const [, labels] of expr.matchAll(/\bby \(([^)]*)\)/g)) {
        const grouped = (labels as string).split(",").map((l) => l.trim());
        expect(grouped.slice(0, 2), expr).toEqual(["job", "namespace"]);
      }
    }
  });

  it("links each alert to its own section of docs/runbooks.md, and every section there to an alert", () => {
    const runbooks = readFileSync(new URL("../../docs/runbooks.md", import.meta.url), "utf8");
    const anchors = headingAnchors(runbooks);
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert as string));
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      const name = rule.alert as string;
      expect(rule.annotations?.["runbook_url"], name).toBe(`docs/runbooks.md#${name.toLowerCase()}`);
      expect(anchors.has(name.toLowerCase()), `docs/runbooks.md has no "## ${name}"`).toBe(true);
    }
    const sections = [...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]);
    expect(sections.sort()).toEqual([...alerts].sort());
  });

  it("is the file the compose Prometheus loads, and its scrape job is the one PortcullisInstanceDown selects", () => {
    const prometheus = parse(
      readFileSync(new URL("../../deploy/prometheus/prometheus.yml", import.meta.url), "utf8"),
    ) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const compose = parse(readFileSync(new URL("../../deploy/compose.yaml", import.meta.url), "utf8")) as {
      services: Record<string, { volumes?: string[] }>;
    };
    const mounts = compose.services["prometheus"]?.volumes ?? [];
    const rulesMount = mounts.find((v) => v.startsWith("./prometheus/portcullis-alerts.yaml:"))?.split(":")[1];
    expect(prometheus.rule_files).toContain(rulesMount);
    expect(prometheus.scrape_configs.map((s) => s.job_name)).toContain("portcullis");
    expect(prometheus.scrape_configs.find((s) => s.job_name === "portcullis")?.static_configs[0]?.targets).toEqual([
      "portcullis:9464",
    ]);
  });
});

describe("the Helm chart's copies (deploy/helm/portcullis/files/, which its templates read)", () => {
  it.each([
    ["portcullis-alerts.yaml", "deploy/prometheus/portcullis-alerts.yaml"],
    ["portcullis-dashboard.json", "deploy/grafana/portcullis-dashboard.json"],
  ])("%s is the same file as %s", (copy, original) => {
    const text = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
    expect(
      text(`deploy/helm/portcullis/files/${copy}`),
      `run: cp ${original} deploy/helm/portcullis/files/ (Helm reads no file outside the chart)`,
    ).toBe(text(original));
  });
});

describe("deploy/grafana/portcullis-dashboard.json", () => {
  it("imports cleanly: a uid, unique panel ids, every panel and query on the $datasource variable", () => {
    expect(dashboard.uid).toBe("portcullis");
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const datasourceVar = dashboard.templating.list.find((v) => v.name === "datasource");
    expect(datasourceVar).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe("${datasource}");
    }
  });

  it("lays its panels on the 24-column grid without overlaps", () => {
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dashboard.panels) {
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it("has panels for decisions, latency quantiles, JWKS, readiness, the token cache, logins, refreshes, introspection, Redis, back-channel logouts, the process and reloads", () => {
    const all = dashboardExpressions(dashboard).join("\n");
    for (const q of ["0.5", "0.95", "0.99"])
      expect(all).toContain(`histogram_quantile(${q}, sum by (le) (rate(portcullis_check_duration_seconds_bucket`);
    expect(all).toMatch(/sum by \(route, decision, reason\) \(rate\(portcullis_checks_total/);
    for (const result of ["started", "completed", "failed"])
      expect(all).toContain(
        `portcullis_logins_total{job=~"$job", namespace=~"$namespace", instance=~"$instance", provider=~"$provider", result="${result}"}`,
      );
    for (const metric of [
      "portcullis_jwks_fetches_total",
      "portcullis_provider_ready",
      "portcullis_token_cache_lookups_total",
      "portcullis_session_refreshes_total",
      "portcullis_introspections_total",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_p99_seconds",
      "portcullis_config_reloads_total",
      "portcullis_config_last_reload_success_timestamp_seconds",
      "portcullis_redis_up",
      "portcullis_redis_operations_total",
      "portcullis_backchannel_logouts_total",
    ])
      expect(all).toContain(metric);
  });

  it("selects every query and its instance, route and provider variables by the job and namespace variables", () => {
    const variables = dashboard.templating.list.map((v) => v.name);
    expect(variables.slice(0, 4)).toEqual(["datasource", "job", "namespace", "instance"]);
    for (const expr of dashboardExpressions(dashboard)) {
      const selectors = matchers(expr).filter((m) => isOwnMetric(m.metric));
      expect(selectors.length, expr).toBeGreaterThan(0);
      for (const metric of new Set(selectors.map((m) => m.metric))) {
        const own = selectors.filter((m) => m.metric === metric).map((m) => `${m.label}${m.op}${m.value}`);
        expect(own, `${metric} in ${expr}`).toEqual(
          expect.arrayContaining(["job=~$job", "namespace=~$namespace", "instance=~$instance"]),
        );
      }
    }
    for (const variable of dashboard.templating.list.filter((v) => ["instance", "route", "provider"].includes(v.name)))
      expect(JSON.stringify(variable.query), variable.name).toContain('{job=~\\"$job\\", namespace=~\\"$namespace\\"}');
  });

  it("uses only the template variables it defines and Grafana's built-ins", () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    for (const expr of dashboardExpressions(dashboard)) {
      for (const [, name] of expr.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
        if ((name as string).startsWith("__")) expect(["__rate_interval", "__range", "__interval"]).toContain(name);
        else expect(defined.has(name as string), `$${name} in ${expr}`).toBe(true);
      }
    }
  });
});

describe.each(sources)("the %s' PromQL", (_name, expressions) => {
  it("balances its brackets and quotes", () => {
    for (const expr of expressions) {
      const stack: string[] = [];
      let quoted = false;
      for (let i = 0; i < expr.length; i++) {
        const c = expr[i] as string;
        if (quoted) {
          if (c === "\\") i++;
          else if (c === '"') quoted = false;
          continue;
        }
        if (c === '"') quoted = true;
        else if ("({[".includes(c)) stack.push(c);
        else if (")}]".includes(c)) expect(stack.pop(), expr).toBe("({["[")}]".indexOf(c)]);
      }
      expect(quoted, expr).toBe(false);
      expect(stack, expr).toEqual([]);
    }
  });

  it("refers only to metrics Portcullis registers", () => {
    const names = expressions.flatMap(metricNames);
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) expect(labelNamesOf(familyOf(name, histograms)), name).toBeDefined();
  });

  it("matches and groups only by labels the metrics have", () => {
    for (const expr of expressions) {
      const families = metricNames(expr).map((n) => familyOf(n, histograms));
      const known = new Set([...TARGET_LABELS, ...families.flatMap((f) => labelNamesOf(f) ?? [])]);
      if (families.some((f) => histograms.has(f))) known.add("le");
      if (families.includes("nodejs_gc_duration_seconds")) known.add("kind");
      for (const m of matchers(expr).filter((m) => isOwnMetric(m.metric))) {
        const own = new Set([...TARGET_LABELS, ...(labelNamesOf(familyOf(m.metric, histograms)) ?? [])]);
        if (m.metric.endsWith("_bucket")) own.add("le");
        expect(own.has(m.label), `${m.metric}{${m.label}} in ${expr}`).toBe(true);
      }
      for (const label of groupingLabels(expr)) expect(known.has(label), `by (${label}) in ${expr}`).toBe(true);
    }
  });

  it("matches closed labels (decision, result, reason) only on values Portcullis emits", () => {
    let checked = 0;
    for (const m of expressions.flatMap(matchers)) {
      if (!isOwnMetric(m.metric) || (m.op !== "=" && m.op !== "=~") || m.value.startsWith("$")) continue;
      const allowed = allowedValues(familyOf(m.metric, histograms), m.label);
      if (allowed === null) continue;
      for (const value of m.op === "=" ? [m.value] : m.value.split("|")) {
        expect(allowed.has(value), `${m.metric}{${m.label}="${value}"}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5);
  });
});
