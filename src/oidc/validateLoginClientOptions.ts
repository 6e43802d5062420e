// The options a login client cannot work with, refused when it is made (once a provider is loaded),
// so a bad discovery document or config is a start-up error, not a failed login.
import type { LoginClientOptions } from "./LoginClient.ts";
import { FORBIDDEN_ALG } from "./verifyProviderJwt.ts";

/** @throws TypeError for options no login could work with (checked once, at start-up). */
export function validateLoginClientOptions(options: LoginClientOptions): void {
  const where = `login client for provider ${JSON.stringify(options.providerName)}`;
  const { metadata } = options;
  if (
    metadata["issuer"] !== options.issuer &&
    options.issuerPolicy?.acceptsDiscoveryIssuer(metadata["issuer"]) !== true
  )
    throw new TypeError(`${where}: the discovery document's issuer is not the configured issuer`);
  if (options.clientId.length === 0) throw new TypeError(`${where}: clientId must not be empty`);
  if (!options.scopes.includes("openid")) throw new TypeError(`${where}: scopes must include "openid"`);
  const usable = options.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg));
  if (usable.length === 0 || usable.length !== options.algorithms.length) {
    throw new TypeError(`${where}: algorithms must be a non-empty list of asymmetric algorithms`);
  }
  for (const [name, value] of [
    ["timeoutMs", options.timeoutMs],
    ["refreshTimeoutMs", options.refreshTimeoutMs ?? options.timeoutMs],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`${where}: ${name} must be a positive number`);
  }
  if (!(Number.isFinite(options.clockToleranceSeconds) && options.clockToleranceSeconds >= 0)) {
    throw new TypeError(`${where}: clockToleranceSeconds must be a non-negative number`);
  }
  const redirect = URL.parse(options.redirectUri);
  if (
    redirect === null ||
    redirect.search !== "" ||
    redirect.hash !== "" ||
    (redirect.protocol !== "https:" && redirect.protocol !== "http:")
  ) {
    throw new TypeError(`${where}: redirectUri must be an absolute http(s) URL without query or fragment`);
  }
  for (const [name, required] of [
    ["authorization_endpoint", true],
    ["token_endpoint", true],
    ["end_session_endpoint", false],
  ] as const) {
    const value = metadata[name];
    if (value === undefined && !required) continue;
    const url = typeof value === "string" ? URL.parse(value) : null;
    if (url === null) throw new TypeError(`${where}: the discovery document's ${name} is not an absolute URL`);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && options.allowInsecureHttp)) {
      throw new TypeError(`${where}: the discovery document's ${name} is not https (allowInsecureHttp is off)`);
    }
  }
}
