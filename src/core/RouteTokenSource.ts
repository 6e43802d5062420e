// Where a route reads its access token when not from the Authorization header (routes[].tokenSource),
// compiled once: the place and its name. A route without one has none, so the usual check reads the
// Authorization header exactly as before.
import type { RouteConfig } from "../config/PortcullisConfig.ts";

export interface RouteTokenSource {
  readonly kind: "header" | "cookie" | "query";
  /** Header names lower-case; cookie and query parameter names as configured (case-sensitive). */
  readonly name: string;
}

/** The route's source, or undefined for the Authorization header (check-config allows at most one). */
export function compileTokenSource(route: Pick<RouteConfig, "tokenSource">): RouteTokenSource | undefined {
  const source = route.tokenSource;
  if (source === undefined) return undefined;
  if (source.header !== null) return Object.freeze({ kind: "header", name: source.header });
  if (source.cookie !== null) return Object.freeze({ kind: "cookie", name: source.cookie });
  if (source.query !== null) return Object.freeze({ kind: "query", name: source.query });
  return undefined;
}
