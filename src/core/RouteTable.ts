// The compiled rule list (compileRoutes.ts) behind one lookup: `match(host, path, method)` returns
// the first rule, in configuration order, whose host, path and method match, or null (the gate
// denies). Paths must already be normalised (normalizePath); nothing here decodes or resolves them.

import type { PolicyConfig, RouteConfig } from "../config/PortcullisConfig.ts";
import { canonicalHost } from "./canonicalHost.ts";
import { compileRoutes, pathMatches, type CompiledRoute, type CompiledRule } from "./compileRoutes.ts";

export type { CompiledRoute };

/**
 * Rules are indexed by exact host so that a table of many hosts costs, per request, one map lookup
 * plus the rules that can apply to that host, never the whole list. For every exact host named
 * anywhere, the index holds the rules that can match it — its own, any-host rules and wildcard
 * rules whose suffix fits — already in configuration order, so first-match order is kept without
 * a merge at request time. Other hosts walk the any-host and wildcard rules.
 */
export class RouteTable {
  readonly #byHost: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Rules for a host not in #byHost: any-host rules and rules with a wildcard (suffix checked per request). */
  readonly #otherHosts: readonly CompiledRule[];

  constructor(routes: readonly RouteConfig[], policy?: PolicyConfig) {
    const rules = compileRoutes(routes, policy);
    const hosts = new Set<string>();
    for (const rule of rules) for (const host of rule.exactHosts ?? []) hosts.add(host);
    const byHost = new Map<string, CompiledRule[]>();
    for (const host of hosts) byHost.set(host, rules.filter((rule) => hostMatches(rule, host)));
    this.#byHost = byHost;
    this.#otherHosts = rules.filter((rule) => rule.exactHosts === null || rule.hostSuffixes.length > 0);
  }

  /** First rule matching host, path and method, in configuration order; null when none does. */
  match(host: string, normalizedPath: string, method: string): CompiledRoute | null {
    const h = canonicalHost(host);
    // Methods are case-sensitive in HTTP, but an upstream that folds case must not see `delete`
    // skip a `DELETE` rule: compare upper-cased.
    const m = method.toUpperCase();
    const known = this.#byHost.get(h);
    if (known !== undefined) {
      for (const rule of known) {
        if ((rule.methods === null || rule.methods.has(m)) && pathMatches(rule.path, normalizedPath)) return rule.route;
      }
      return null;
    }
    for (const rule of this.#otherHosts) {
      if ((rule.methods === null || rule.methods.has(m)) && pathMatches(rule.path, normalizedPath) && hostMatches(rule, h)) return rule.route;
    }
    return null;
  }
}

function hostMatches(rule: CompiledRule, host: string): boolean {
  if (rule.exactHosts === null || rule.exactHosts.has(host)) return true;
  for (const suffix of rule.hostSuffixes) {
    // `*.example.com` needs at least one label before the suffix: never `example.com` itself.
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}
