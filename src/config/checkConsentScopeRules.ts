// Incremental consent's cross-field rules: `providers.<name>.consentScopes` needs browser login (a
// problem), and a route a consenting provider's sessions reach that requires a scope the provider may
// not ask for is a warning: its browsers get 403 where the operator may expect a consent round trip.
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

type PartialProvider = NonNullable<PartialConfig["providers"]>[string];

/** Scopes a browser of this provider can end up holding: asked for at every login, or by consent. */
function askable(provider: PartialProvider): ReadonlySet<string> {
  const scopes = [...(provider.scopes ?? ["openid", "profile", "email"]), ...(provider.consentScopes ?? [])];
  return new Set(scopes.filter((scope) => scope !== undefined));
}

export function checkConsentScopeRules(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const consenting = new Map<string, ReadonlySet<string>>();
  for (const [name, provider] of Object.entries(config.providers ?? {})) {
    if ((provider.consentScopes ?? []).length === 0) continue;
    if (typeof provider.clientId !== "string" || typeof provider.redirectUri !== "string") {
      problems.push({
        path: keyPath(keyPath("providers", name), "consentScopes"),
        message:
          "needs browser login (clientId and redirectUri): only a browser session is sent back to the IdP for a scope; remove it, or configure the login client",
      });
      continue;
    }
    consenting.set(name, askable(provider));
  }
  if (consenting.size === 0) return;
  const defaultScopes = (config.policy?.defaults?.require?.scopes ?? []).filter((s) => s !== undefined);
  (config.routes ?? []).forEach((route, index) => {
    if (route === undefined || route.auth === "public") return;
    const path = keyPath("routes", index);
    const scopesAt = keyPath(keyPath(path, "require"), "scopes");
    const own = (route.require?.scopes ?? []).map((scope, i) => ({ scope, at: keyPath(scopesAt, i) }));
    const inherited =
      route.defaults === false
        ? []
        : defaultScopes.map((scope, i) => ({ scope, at: keyPath("policy.defaults.require.scopes", i) }));
    const accepted = (route.providers ?? []).length === 0 ? [...consenting.keys()] : (route.providers ?? []);
    for (const provider of accepted) {
      const allowed = consenting.get(provider ?? "");
      if (allowed === undefined) continue;
      for (const { scope, at } of [...own, ...inherited]) {
        if (scope === undefined || allowed.has(scope)) continue;
        warnings.push({
          path: at,
          message: `${JSON.stringify(scope)} (route ${JSON.stringify(route.name ?? path)}) is in neither providers.${provider}.scopes nor providers.${provider}.consentScopes: a browser session of ${provider} without it gets 403, never a consent round trip; add it to consentScopes if the IdP may grant it`,
        });
      }
    }
  });
}
