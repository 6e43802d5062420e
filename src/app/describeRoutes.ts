// The effective ordered rule table `check-config --explain-routes` prints: each rule as the gate
// matches it (a mode's catch-all rule included) with its hosts, path and path kind, methods, auth,
// providers and requirements, and the overlaps the config checker found (core/checkRouteMatching.ts
// reports them as warnings on `routes[i]`; they are attached to their rows here, not worked out again).

import type { ConfigIssue } from "../config/ConfigIssue.ts";
import { keyPath } from "../config/keyPath.ts";
import type { PortcullisConfig, RouteAuth, RouteConfig } from "../config/PortcullisConfig.ts";
import { compileRoutes, type CompiledRoute, type CompiledRule } from "../core/compileRoutes.ts";
import { providersDemandCertificates } from "./clientCertificateUse.ts";
import { describeRouteRequirements, requirementTexts, type RouteRequirementText } from "./describeRouteRequirements.ts";

export type RoutePathKind = "any" | "prefix" | "exact" | "glob" | "regex";

/** An overlap with an earlier rule: `unreachable` (never decides), `shadowed` (partly), `hidesCatchAll`. */
export interface RouteFinding {
  readonly kind: "unreachable" | "shadowed" | "hidesCatchAll";
  readonly message: string;
}

/** One row of the table; lists are empty for "any" (hosts, providers) and null methods means any method. */
export interface RouteRow {
  readonly position: number;
  readonly name: string;
  /** Index in the configured `routes`; null for the catch-all rule a whitelist or blacklist mode appends. */
  readonly configIndex: number | null;
  readonly hosts: readonly string[];
  readonly path: { readonly kind: RoutePathKind; readonly pattern: string | null };
  readonly methods: readonly string[] | null;
  readonly caseInsensitive: boolean;
  readonly trailingSlashToggled: boolean;
  readonly auth: RouteAuth;
  /** `shadow`: evaluated and its would-be denials counted, never deciding (routes[].mode). */
  readonly mode: "enforce" | "shadow";
  readonly providers: readonly string[];
  readonly requirements: readonly RouteRequirementText[];
  readonly findings: readonly RouteFinding[];
}

export interface RouteTableDescription {
  readonly mode: PortcullisConfig["policy"]["mode"];
  /** What a request no rule matches gets: only rules mode leaves any unmatched. */
  readonly unmatched: "deny" | null;
  readonly rules: readonly RouteRow[];
}

function pathOf(route: RouteConfig | undefined): RouteRow["path"] {
  const m = route?.match;
  if (typeof m?.pathExact === "string") return { kind: "exact", pattern: m.pathExact };
  if (typeof m?.pathGlob === "string") return { kind: "glob", pattern: m.pathGlob };
  if (typeof m?.pathRegex === "string") return { kind: "regex", pattern: m.pathRegex };
  if (typeof m?.path === "string") return { kind: "prefix", pattern: m.path };
  return { kind: "any", pattern: null };
}

/** The checker's route-matching warnings, by the configured route they are about. */
function findingsOf(warnings: readonly ConfigIssue[], index: number): RouteFinding[] {
  const path = keyPath("routes", index);
  const out: RouteFinding[] = [];
  for (const w of warnings) {
    if (w.path !== path) continue;
    if (w.message.startsWith("is unreachable")) out.push({ kind: "unreachable", message: w.message });
    else if (w.message.startsWith("is partly shadowed")) out.push({ kind: "shadowed", message: w.message });
    else if (w.message.startsWith("matches every request")) out.push({ kind: "hidesCatchAll", message: w.message });
  }
  return out;
}

function rowOf(
  rule: CompiledRule,
  position: number,
  config: PortcullisConfig,
  warnings: readonly ConfigIssue[],
): RouteRow {
  const r = rule.route;
  const source = r.index === null ? undefined : config.routes[r.index];
  let findings: RouteFinding[] = r.index === null ? [] : findingsOf(warnings, r.index);
  if (r.index === null) {
    // The catch-all is unreachable exactly when the checker said a listed rule swallows it.
    const hider = config.routes.findIndex((_, i) => findingsOf(warnings, i).some((f) => f.kind === "hidesCatchAll"));
    if (hider !== -1)
      findings = [
        { kind: "unreachable", message: `is unreachable: ${keyPath("routes", hider)} matches every request` },
      ];
  }
  return {
    position,
    name: r.name,
    configIndex: r.index,
    hosts: source?.match.hosts ?? [],
    path: pathOf(source),
    methods: rule.methods === null ? null : [...rule.methods],
    caseInsensitive: rule.caseInsensitive,
    trailingSlashToggled: rule.trailingSlashToggled,
    auth: r.auth,
    mode: r.shadow === true ? "shadow" : "enforce",
    providers: r.auth === "public" ? [] : r.providers,
    requirements: [...describeRouteRequirements(source), ...defaultsTexts(r, source, config)],
    findings,
  };
}

/** `policy.defaults.require` where the rule asks it: every non-public rule that does not opt out. */
function defaultsTexts(
  route: CompiledRoute,
  source: RouteConfig | undefined,
  config: PortcullisConfig,
): RouteRequirementText[] {
  const defaults = config.policy.defaults?.require;
  if (defaults === undefined || route.auth === "public" || source?.defaults === false) return [];
  return requirementTexts(defaults).map(({ what, text }) => ({ what: `defaults ${what}`, text }));
}

/** The table for a valid config and the warnings its check produced. */
export function describeRoutes(config: PortcullisConfig, warnings: readonly ConfigIssue[]): RouteTableDescription {
  const rules = compileRoutes(config.routes, config.policy, {
    providersDemandCertificates: providersDemandCertificates(config),
  });
  return {
    mode: config.policy.mode,
    unmatched: config.policy.mode === "rules" ? "deny" : null,
    rules: rules.map((rule, i) => rowOf(rule, i, config, warnings)),
  };
}
