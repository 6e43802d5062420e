// The PromQL in deploy/grafana/portcullis-dashboard.json and deploy/prometheus/portcullis-alerts.yaml,
// and what it refers to: metric names, label matchers, grouping labels. A lexical reading (no
// PromQL parser here; promtool is the manual check), enough to catch a renamed metric or label.
import { readFileSync } from "node:fs";
import { parse } from "yaml";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: {
    readonly list: readonly { readonly name: string; readonly type: string; readonly query?: unknown }[];
  };
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly {
    readonly expr: string;
    readonly refId: string;
    readonly datasource?: { readonly uid: string };
  }[];
}

export interface AlertRule {
  readonly alert?: unknown;
  readonly record?: unknown;
  readonly expr?: unknown;
  readonly for?: unknown;
  readonly labels?: Record<string, unknown>;
  readonly annotations?: Record<string, unknown>;
}

export interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

export const readDashboard = (): Dashboard => JSON.parse(read("deploy/grafana/portcullis-dashboard.json")) as Dashboard;
export const readRuleFile = (): RuleFile => parse(read("deploy/prometheus/portcullis-alerts.yaml")) as RuleFile;

export function dashboardExpressions(dashboard: Dashboard = readDashboard()): string[] {
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

export function alertExpressions(rules: RuleFile = readRuleFile()): string[] {
  return rules.groups.flatMap((g) => g.rules.map((r) => String(r.expr)));
}

/** Whether a metric is Portcullis's: its own `portcullis_*` or its process's standard `process_*`, `nodejs_*`. */
export const isOwnMetric = (name: string): boolean => /^(portcullis|process|nodejs)_/.test(name);

/** Every metric name Portcullis exports in the expression, as written (histogram suffixes included). */
export function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:portcullis|process|nodejs)_[a-z0-9_]+/g) ?? [])];
}

/** The family a sample name belongs to: `x_bucket|_sum|_count` → `x` when `x` is a histogram. */
export function familyOf(name: string, histograms: ReadonlySet<string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name && histograms.has(base) ? base : name;
}

export interface Matcher {
  readonly metric: string;
  readonly label: string;
  readonly op: string;
  readonly value: string;
}

/** Label matchers written inside `metric{...}`. */
export function matchers(expr: string): Matcher[] {
  const found: Matcher[] = [];
  for (const selector of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    for (const m of (selector[2] as string).matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g,
    )) {
      found.push({ metric: selector[1] as string, label: m[1] as string, op: m[2] as string, value: m[3] as string });
    }
  }
  return found;
}

/** Label names in `by (...)` / `without (...)` clauses. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] as string)
      .split(",")
      .map((l) => l.trim())
      .filter((l) => l !== ""),
  );
}

/** Families and their types from Prometheus text exposition (`# TYPE name type` lines). */
export function exportedFamilies(exposition: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1] as string, m[2] as string);
  return families;
}
