// Programming or configuration mistakes the config parser should already have caught, refused when a
// registry is made (at start-up or on a reload), before any provider is loaded.
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import type { ProviderState } from "./ProviderState.ts";
import { FORBIDDEN_ALG } from "./verifyProviderJwt.ts";

export function validateProviderConfig(
  config: ProviderConfig,
  byIssuer: ReadonlyMap<string, ProviderState>,
  states: readonly ProviderState[],
): void {
  const where = `provider ${JSON.stringify(config.name)}`;
  if (states.some((state) => state.config.name === config.name))
    throw new TypeError(`${where}: duplicate provider name`);
  // Tokens are routed to a provider by exact iss; two providers with one issuer would be ambiguous.
  if ([config.issuer, ...(config.tokenIssuers ?? [])].some((issuer) => byIssuer.has(issuer))) {
    throw new TypeError(`${where}: issuer is already used by another provider`);
  }
  let issuer: URL;
  try {
    issuer = new URL(config.issuer);
  } catch {
    throw new TypeError(`${where}: issuer is not an absolute URL`);
  }
  if (issuer.protocol !== "https:" && !(issuer.protocol === "http:" && config.allowInsecureHttp)) {
    throw new TypeError(`${where}: issuer must be https (or http with allowInsecureHttp)`);
  }
  // A zero max age would refresh in a tight loop; the config schema's minimum is 10 s.
  if (!(config.jwksMaxAgeSeconds > 0) || !Number.isFinite(config.jwksMaxAgeSeconds)) {
    throw new TypeError(`${where}: jwksMaxAgeSeconds must be a positive number`);
  }
  if (!(config.jwksCooldownSeconds >= 0) || !Number.isFinite(config.jwksCooldownSeconds)) {
    throw new TypeError(`${where}: jwksCooldownSeconds must be a non-negative number`);
  }
  if (config.audiences.length === 0) throw new TypeError(`${where}: audiences must not be empty`);
  const usable = config.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg));
  if (usable.length !== config.algorithms.length || usable.length === 0) {
    throw new TypeError(`${where}: algorithms must be a non-empty list of asymmetric algorithms`);
  }
}
