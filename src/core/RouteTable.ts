// The ordered route list, compiled once: `match(host, path)` returns the first route whose host and
// path prefix match, or null (the gate denies). Paths must already be normalised (normalizePath);
// nothing here decodes or resolves them.

import type { RouteConfig } from "../config/PortcullisConfig.ts";
import { canonicalHost } from "./canonicalHost.ts";

interface CompiledRoute {
  readonly route: RouteConfig;
  /** null = any host. */
  readonly exactHosts: ReadonlySet<string> | null;
  /** Wildcard suffixes with their leading dot, e.g. ".example.com" for "*.example.com". */
  readonly hostSuffixes: readonly string[];
  /** Prefix without trailing slashes; "" = every path. */
  readonly base: string;
  /** base + "/", precomputed for the segment-boundary test. */
  readonly baseWithSlash: string;
}


function compile(route: RouteConfig): CompiledRoute {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of route.match.hosts) {
    const host = raw.toLowerCase();
    if (host.startsWith("*.")) suffixes.push(host.slice(1));
    else exact.add(canonicalHost(host));
  }
  // A trailing slash in the configured prefix is not significant: `/api/` and `/api` both mean
  // "the /api segment and everything under it", so `/api` itself matches `/api/` too.
  const base = route.match.path.replace(/\/+$/, "");
  return {
    route,
    exactHosts: route.match.hosts.length === 0 ? null : exact,
    hostSuffixes: suffixes,
    base,
    baseWithSlash: base + "/",
  };
}

export class RouteTable {
  readonly #routes: readonly CompiledRoute[];

  constructor(routes: readonly RouteConfig[]) {
    this.#routes = routes.map(compile);
  }

  /** First route matching both host and path, in configuration order; null when none does. */
  match(host: string, normalizedPath: string): RouteConfig | null {
    const h = canonicalHost(host);
    for (const r of this.#routes) {
      if (!pathMatches(r, normalizedPath)) continue;
      if (r.exactHosts === null || hostMatches(r, h)) return r.route;
    }
    return null;
  }
}

function pathMatches(r: CompiledRoute, path: string): boolean {
  if (r.base === "") return true;
  return path === r.base || path.startsWith(r.baseWithSlash);
}

function hostMatches(r: CompiledRoute, host: string): boolean {
  if ((r.exactHosts as ReadonlySet<string>).has(host)) return true;
  for (const suffix of r.hostSuffixes) {
    // `*.example.com` needs at least one label before the suffix: never `example.com` itself.
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}
