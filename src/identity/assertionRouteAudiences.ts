// Which routes add the signed identity assertion, and for which audience: a route's own
// `assertion.enabled` / `assertion.audience`, else `identity.assertion`'s. Public routes never do.
// The catch-all rule of whitelist and blacklist mode (named `default`) follows the global setting.
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";

/** Route name → the audience of its assertion, for every route that adds one. */
export function assertionRouteAudiences(config: PortcullisConfig): ReadonlyMap<string, string> {
  const assertion = config.identity.assertion;
  const audiences = new Map<string, string>();
  if (assertion === undefined) return audiences;
  const mode = config.policy.mode;
  for (const route of config.routes) {
    const auth = route.auth ?? (mode === "whitelist" ? "public" : "required");
    const audience = route.assertion?.audience ?? assertion.audience;
    if (auth !== "public" && (route.assertion?.enabled ?? assertion.enabled) && audience !== null)
      audiences.set(route.name, audience);
  }
  // The catch-all rule of whitelist mode requires a login; blacklist mode's is public.
  if (mode === "whitelist" && assertion.enabled && assertion.audience !== null)
    audiences.set("default", assertion.audience);
  return audiences;
}
