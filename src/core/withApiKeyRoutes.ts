// The rules of routes that admit API keys (routes[].apiKeys), marked for the Gate's API-key step
// (ApiKeySet.ts) and made to remove where keys are read: the key header from the request, the key
// parameter from the query (Envoy's query_parameters_to_remove), so no key reaches an upstream.
import type { RouteConfig } from "../config/PortcullisConfig.ts";
import type { CompiledRoute, CompiledRule } from "./compileRoutes.ts";
import type { RouteTokenSource } from "./RouteTokenSource.ts";

/** A compiled route, and whether it admits API keys. */
export type ApiKeyCompiledRoute = CompiledRoute & { readonly apiKeys?: boolean };

export interface ApiKeyRouteOptions {
  /** Where API keys are read (ApiKeySet.sources); absent = keys not enabled, no route admits them. */
  readonly apiKeySources?: readonly RouteTokenSource[];
}

export function withApiKeyRoutes(
  rules: readonly CompiledRule[],
  routes: readonly RouteConfig[],
  sources: readonly RouteTokenSource[] | undefined,
): readonly CompiledRule[] {
  if (sources === undefined) return rules;
  const headers = sources.filter((s) => s.kind === "header").map((s) => s.name);
  const queries = sources.filter((s) => s.kind === "query").map((s) => s.name);
  return rules.map((rule) => {
    const { route } = rule;
    if (route.index === null || routes[route.index]?.apiKeys !== true) return rule;
    const params = [...new Set([...(route.removeQueryParameters ?? []), ...queries])];
    const marked: ApiKeyCompiledRoute = {
      ...route,
      apiKeys: true,
      removeRequestHeaders: Object.freeze([...route.removeRequestHeaders, ...headers]),
      ...(params.length === 0 ? {} : { removeQueryParameters: Object.freeze(params) }),
    };
    return { ...rule, route: marked };
  });
}
