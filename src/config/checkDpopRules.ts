// Cross-field rules of DPoP (`providers.<name>.dpop`): a demand for DPoP-bound tokens (a provider's
// `boundTokens: dpop`, a route's `require.boundTokens: dpop`) needs a provider that checks their
// proofs, and replicas that require nonces need one nonce secret between them. Reads the possibly
// partial parser output, like every rule in checkConfigRules.ts.

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

export function checkDpopRules(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const providers = Object.entries(config.providers ?? {});
  const accepting = new Set(providers.filter(([, p]) => p?.dpop?.enabled === true).map(([name]) => name));
  const replicated = typeof config.redis?.url === "string" || (config.redis?.sentinels ?? []).length > 0;
  for (const [name, provider] of providers) {
    const path = keyPath("providers", name);
    if (provider?.boundTokens === "dpop" && !accepting.has(name))
      problems.push({
        path: keyPath(path, "boundTokens"),
        message:
          'is "dpop" but this provider does not check DPoP proofs, so every token would be refused: set dpop.enabled: true, or another boundTokens',
      });
    const nonce = provider?.dpop?.nonce;
    if (accepting.has(name) && nonce?.required === true && (nonce.secret ?? null) === null && replicated)
      warnings.push({
        path: keyPath(keyPath(keyPath(path, "dpop"), "nonce"), "secret"),
        message:
          "is not set while redis says several replicas run: each generates its own nonce key and refuses the nonces the others give out; set the same secret (${ENV_VAR}, 32+ characters) on every replica",
      });
  }
  (config.routes ?? []).forEach((route, index) => {
    if (route?.require?.boundTokens !== "dpop") return;
    // No providers (or an empty list) on a route means every provider.
    const named = route.providers?.length ? route.providers : providers.map(([name]) => name);
    if (named.some((name) => typeof name === "string" && accepting.has(name))) return;
    problems.push({
      path: keyPath(keyPath(keyPath("routes", index), "require"), "boundTokens"),
      message:
        'is "dpop" but none of the providers this route accepts checks DPoP proofs: set providers.<name>.dpop.enabled: true on one of them',
    });
  });
}
