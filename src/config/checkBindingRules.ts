// Cross-field rules of sender-constrained tokens and mTLS clients: a certificate client names exactly
// one selector and has a client id, and only a route that checks callers (not public, by its auth or
// the whitelist mode's default) admits certificate clients.
// Reads the possibly partial parser output, like every rule in checkConfigRules.ts.

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

const SELECTORS = ["spiffeId", "uri", "dnsName", "subject", "thumbprint"] as const;

export function checkBindingRules(config: PartialConfig, { problems }: RuleFindings): void {
  const mode = config.policy?.mode;
  (config.routes ?? []).forEach((route, index) => {
    const clients = route?.mtls?.clients ?? [];
    const path = keyPath(keyPath("routes", index), "mtls");
    // A route written without auth in whitelist mode is public too: its clients would admit everyone.
    const defaultPublic = route?.auth == null && mode === "whitelist";
    if (clients.length > 0 && (route?.auth === "public" || defaultPublic)) {
      const why = defaultPublic ? "auth is public (the whitelist mode default)" : "the route is auth: public";
      problems.push({
        path: keyPath(path, "clients"),
        message: `admits certificate clients but ${why}, so nobody is checked; set auth: required (or optional), or remove clients`,
      });
    }
    clients.forEach((client, at) => {
      if (client === undefined) return;
      const given = SELECTORS.filter((name) => typeof client[name] === "string");
      if (given.length !== 1) {
        problems.push({
          path: keyPath(keyPath(path, "clients"), at),
          message:
            given.length === 0
              ? `names no certificate: give exactly one of ${SELECTORS.join(", ")}`
              : `names ${given.join(" and ")}: give exactly one of ${SELECTORS.join(", ")} (one entry per selector)`,
        });
      }
    });
  });
}
