// Cross-field rules of the forward-auth endpoint: with `proxy: envoy` (Envoy's ext_authz
// http_service) the original method, path and host are the request's own, so a header name for
// them would be a setting nothing reads; refusing it keeps a config from saying what it does not do.
// Reads the possibly partial parser output, like every rule in checkConfigRules.ts.

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";

const FROM_THE_REQUEST = {
  method: "the request's own method",
  uri: "the request's own path (after forwardAuth.path, its path_prefix)",
  host: "the request's own Host",
} as const;

export function checkForwardAuthRules(config: PartialConfig, { problems }: RuleFindings): void {
  const section = config.forwardAuth;
  if (section?.proxy !== "envoy") return;
  for (const [name, source] of Object.entries(FROM_THE_REQUEST)) {
    const value = section.headers?.[name as keyof typeof FROM_THE_REQUEST];
    if (typeof value === "string") {
      problems.push({
        path: `forwardAuth.headers.${name}`,
        message: `is not read with proxy: envoy, whose http_service sends ${source}; remove it`,
      });
    }
  }
}
