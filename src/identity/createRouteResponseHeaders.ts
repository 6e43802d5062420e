// A route's `responseHeaders`: headers for the client on an allowed request, made from verified
// claims (sub, email, client_id, claim:<path>), never from a credential or the request. Identifiers
// that would need changing are left out; free-form values are sanitised and cut. Made once with the
// answer the gate keeps, so a cached credential's check pays nothing for them.
import type { RouteConfig } from "../config/PortcullisConfig.ts";
import { claimText } from "./claimText.ts";
import { resolveClaim } from "./resolveClaim.ts";
import { isVerbatimHeaderValue, sanitizeHeaderValue } from "./sanitizeHeaderValue.ts";

type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/** The client's headers for an allowed request on `route` by the caller with these claims. */
export type RouteResponseHeaders = (route: string, claims: Readonly<Record<string, unknown>>) => HeaderList;

const NONE: HeaderList = Object.freeze([]);

/** null when no route has response headers. */
export function createRouteResponseHeaders(
  routes: readonly Pick<RouteConfig, "name" | "responseHeaders">[],
  maxHeaderBytes: number,
): RouteResponseHeaders | null {
  const byRoute = new Map<string, ReadonlyArray<readonly [string, string]>>();
  for (const route of routes) {
    const entries = Object.entries(route.responseHeaders ?? {});
    if (entries.length > 0) byRoute.set(route.name, entries);
  }
  if (byRoute.size === 0) return null;
  return (route, claims) => {
    const wanted = byRoute.get(route);
    if (wanted === undefined) return NONE;
    const headers: Array<readonly [string, string]> = [];
    for (const [name, source] of wanted) {
      const value = valueOf(source, claims, maxHeaderBytes);
      if (value !== undefined) headers.push([name, value]);
    }
    return headers;
  };
}

function valueOf(source: string, claims: Readonly<Record<string, unknown>>, max: number): string | undefined {
  if (source === "sub" || source === "client_id") {
    const id = source === "sub" ? own(claims, "sub") : (nonEmpty(own(claims, "client_id")) ?? own(claims, "azp"));
    // An identifier is sent as it is or not at all: a changed one could be somebody else's.
    return typeof id === "string" && isVerbatimHeaderValue(id, max) ? id : undefined;
  }
  const raw = source === "email" ? own(claims, "email") : resolveClaim(claims, source.slice("claim:".length));
  const text = claimText(raw);
  const value = text === undefined ? "" : sanitizeHeaderValue(text, max);
  return value === "" ? undefined : value;
}

function own(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
