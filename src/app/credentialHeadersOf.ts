// The upstream headers a config puts credentials in (the signed identity assertion, a token
// exchange's or a forwarded token's header): `explain` and a live request's trace show their values as "(value not shown)".
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";

/** The upstream headers this config puts credentials in, lower-cased. */
export function credentialHeadersOf(config: PortcullisConfig): ReadonlySet<string> {
  const names = new Set<string>();
  if (config.identity.assertion !== undefined) names.add(config.identity.assertion.header.toLowerCase());
  for (const route of config.routes) {
    if (route.exchange?.enabled === true) names.add(route.exchange.header.toLowerCase());
    if (route.forwardToken?.enabled === true) names.add(route.forwardToken.header.toLowerCase());
  }
  return names;
}
