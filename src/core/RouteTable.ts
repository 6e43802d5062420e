// The compiled rule list (compileRoutes.ts) behind one lookup: `match(host, path, method)` returns
// the first rule, in configuration order, whose host, path and method match, or null (the gate
// denies). Paths must already be normalised (normalizePath); nothing here decodes or resolves them.
// A rule that is not public also matches the path with one trailing slash toggled (compileRoutes.ts).
// Shadow rules (`mode: shadow`) never decide: match() skips them; shadowsBefore() finds them.

import type { PolicyConfig, RouteConfig } from "../config/PortcullisConfig.ts";
import { canonicalAuthority } from "./canonicalAuthority.ts";
import { withApiKeyRoutes, type ApiKeyRouteOptions } from "./withApiKeyRoutes.ts";
import { compileRoutes, type CompiledRoute, type CompiledRule, type RouteCompileOptions } from "./compileRoutes.ts";
import { pathMatches, toggledMayMatch } from "./pathMatches.ts";
import { foldAsciiCase } from "./foldAsciiCase.ts";
import { toggleTrailingSlash } from "./toggleTrailingSlash.ts";
import type { ConditionInput, ConditionKind } from "./compileRequestConditions.ts";

export type { CompiledRoute };

/** One rule as `consider` saw it: matched, or the first part of the request it does not match. */
export interface RuleConsidered {
  readonly name: string;
  readonly mismatch: "host" | "method" | "path" | ConditionKind | null;
  /** A shadow rule: evaluated, never deciding; the walk goes on past it when it matches. */
  readonly shadow?: true;
}

/** Rules that can apply to one host, split by the request's first path segment. */
interface Bucket {
  /** First segment → the rules that can match a path starting with it, in configuration order. */
  readonly bySegment: ReadonlyMap<string, readonly CompiledRule[]>;
  /** The rules for any other first segment: those whose first segment is not fixed. */
  readonly rest: readonly CompiledRule[];
}

/**
 * With `fold`, keys are case-folded first segments and a list holds every rule whose segment folds
 * to the key: a case-insensitive rule must be found for `/Admin/y` too; a case-sensitive rule in the
 * same list just fails its own (exact) path match.
 */
function bucketOf(rules: readonly CompiledRule[], fold: boolean): Bucket {
  const keyOf = (segment: string) => (fold ? foldAsciiCase(segment) : segment);
  const segments = new Set<string>();
  for (const rule of rules) if (rule.firstSegment !== null) segments.add(keyOf(rule.firstSegment));
  const bySegment = new Map<string, CompiledRule[]>();
  for (const segment of segments)
    bySegment.set(
      segment,
      rules.filter((r) => r.firstSegment === null || keyOf(r.firstSegment) === segment),
    );
  return { bySegment, rest: rules.filter((r) => r.firstSegment === null) };
}

function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

/**
 * Rules are indexed twice so that a table of many hosts and paths costs, per request, two map
 * lookups plus the few rules that can apply, never the whole list. By exact host: for every exact
 * host named anywhere, the rules that can match it (its own, any-host rules, wildcard rules whose
 * suffix fits); other hosts get the any-host and wildcard rules. Then by first path segment. Every
 * list is filtered from the configuration-ordered list, so first-match order is kept without a
 * merge at request time.
 */
export class RouteTable {
  readonly #byHost: ReadonlyMap<string, Bucket>;
  /** For a host not in #byHost: any-host rules and rules with a wildcard (suffix checked per request). */
  readonly #otherHosts: Bucket;
  /** Some rule matches case-insensitively: the segment index is keyed by folded segments. */
  readonly #fold: boolean;
  /** Every rule in configuration order, for consider(). */
  readonly #rules: readonly CompiledRule[];
  /** Some rule is in shadow mode; without one, shadowsBefore() is never called (see Gate). */
  readonly hasShadows: boolean;

  constructor(
    routes: readonly RouteConfig[],
    policy?: PolicyConfig,
    options?: RouteCompileOptions & ApiKeyRouteOptions,
  ) {
    const all = withApiKeyRoutes(compileRoutes(routes, policy, options), routes, options?.apiKeySources);
    this.#rules = all;
    this.hasShadows = all.some((rule) => rule.route.shadow === true);
    // The indexes hold only the rules that decide, so match() never sees a shadow rule.
    const rules = this.hasShadows ? all.filter((rule) => rule.route.shadow !== true) : all;
    const fold = rules.some((rule) => rule.caseInsensitive);
    this.#fold = fold;
    const hosts = new Set<string>();
    for (const rule of rules) for (const host of rule.exactHosts ?? []) hosts.add(host);
    const byHost = new Map<string, Bucket>();
    for (const host of hosts)
      byHost.set(
        host,
        bucketOf(
          rules.filter((rule) => hostMatches(rule, host)),
          fold,
        ),
      );
    this.#byHost = byHost;
    this.#otherHosts = bucketOf(
      rules.filter((rule) => rule.exactHosts === null || rule.hostSuffixes.length > 0),
      fold,
    );
  }

  /**
   * First rule matching host, path and method, in configuration order; null when none does, and
   * when `host` is not a valid authority (canonicalAuthority), so no caller can match on one.
   */
  match(host: string, normalizedPath: string, method: string, request?: ConditionInput): CompiledRoute | null {
    const h = canonicalAuthority(host);
    if (h === null) return null;
    const known = this.#byHost.size === 0 ? undefined : this.#byHost.get(h);
    const bucket = known ?? this.#otherHosts;
    // The folded path, made at most once per match and only when a case-insensitive rule needs it
    // (foldAsciiCase returns the path itself when it has no capital letter, as most do).
    let folded: string | null = null;
    // A table without fixed first segments (one catch-all route, say) skips the segment lookup.
    const rules =
      bucket.bySegment.size === 0
        ? bucket.rest
        : (bucket.bySegment.get(firstSegment(this.#fold ? (folded = foldAsciiCase(normalizedPath)) : normalizedPath)) ??
          bucket.rest);
    // Methods are case-sensitive in HTTP, but an upstream that folds case must not see `delete`
    // skip a `DELETE` rule: compare upper-cased (once, and only when a rule lists methods).
    let upper: string | null = null;
    // The path with one trailing slash toggled (and its fold), made at most once per match and only
    // when a rule that is not public failed on the path as is; undefined = not made yet, null = `/`.
    // Its first segment is the path's own, so the segment lookup above found every rule it needs.
    let toggled: string | null | undefined;
    let toggledFolded: string | undefined;
    for (const rule of rules) {
      if (rule.methods !== null && !rule.methods.has((upper ??= method.toUpperCase()))) continue;
      const path = rule.caseInsensitive ? (folded ??= foldAsciiCase(normalizedPath)) : normalizedPath;
      if (!pathMatches(rule.path, path)) {
        if (!rule.trailingSlashToggled || !toggledMayMatch(rule.path, path)) continue;
        if (toggled === undefined) toggled = toggleTrailingSlash(normalizedPath);
        if (toggled === null) continue;
        if (!pathMatches(rule.path, rule.caseInsensitive ? (toggledFolded ??= foldAsciiCase(toggled)) : toggled))
          continue;
      }
      if (known === undefined && !hostMatches(rule, h)) continue;
      if (!conditionsHold(rule, request)) continue;
      return rule.route;
    }
    return null;
  }

  /**
   * For `portcullis explain`, never the Check path: each rule in order up to the one that matches,
   * with the first of host, method and path it does not match. Walks the whole list rather than
   * the indexes, with match()'s own tests; a test holds the two to the same answer.
   */
  consider(host: string, normalizedPath: string, method: string, request?: ConditionInput): RuleConsidered[] {
    const h = canonicalAuthority(host);
    const upper = method.toUpperCase();
    const out: RuleConsidered[] = [];
    for (const rule of this.#rules) {
      const mismatch =
        h === null || !hostMatches(rule, h)
          ? "host"
          : rule.methods !== null && !rule.methods.has(upper)
            ? "method"
            : !rulePathMatches(rule, normalizedPath)
              ? "path"
              : conditionMismatch(rule, request);
      const shadow = rule.route.shadow === true;
      out.push(shadow ? { name: rule.route.name, mismatch, shadow } : { name: rule.route.name, mismatch });
      if (mismatch === null && !shadow) break;
    }
    return out;
  }

  /**
   * The shadow rules a request meets before the rule that decides it: each one that matches, in
   * configuration order, up to the first matching rule that is not in shadow mode. Walks the whole
   * list (only configs with shadow rules call it).
   */
  shadowsBefore(host: string, normalizedPath: string, method: string, request?: ConditionInput): CompiledRoute[] {
    const h = canonicalAuthority(host);
    if (h === null) return [];
    const upper = method.toUpperCase();
    const out: CompiledRoute[] = [];
    for (const rule of this.#rules) {
      if (!hostMatches(rule, h) || (rule.methods !== null && !rule.methods.has(upper))) continue;
      if (!rulePathMatches(rule, normalizedPath) || !conditionsHold(rule, request)) continue;
      if (rule.route.shadow !== true) break;
      out.push(rule.route);
    }
    return out;
  }
}

/**
 * A rule's request conditions: none holds at once; with some, a caller that gives no request (a
 * lookup by host, path and method alone) never matches the rule, so a condition never widens it.
 */
function conditionsHold(rule: CompiledRule, request: ConditionInput | undefined): boolean {
  return rule.conditions === undefined || conditionMismatch(rule, request) === null;
}

function conditionMismatch(rule: CompiledRule, request: ConditionInput | undefined): RuleConsidered["mismatch"] {
  if (rule.conditions === undefined) return null;
  return request === undefined ? "headers" : rule.conditions(request);
}

/** The rule's path test as match() makes it: folded when the rule ignores case, then the other trailing-slash spelling. */
function rulePathMatches(rule: CompiledRule, normalizedPath: string): boolean {
  const fold = (p: string) => (rule.caseInsensitive ? foldAsciiCase(p) : p);
  if (pathMatches(rule.path, fold(normalizedPath))) return true;
  if (!rule.trailingSlashToggled) return false;
  const toggled = toggleTrailingSlash(normalizedPath);
  return toggled !== null && pathMatches(rule.path, fold(toggled));
}

function hostMatches(rule: CompiledRule, host: string): boolean {
  if (rule.exactHosts === null || rule.exactHosts.has(host)) return true;
  for (const suffix of rule.hostSuffixes) {
    // `*.example.com` needs at least one label before the suffix: never `example.com` itself.
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}
