// Cross-field rules of `routes[].exchange` (token exchange): a target to exchange for, a provider
// that exists and that the route accepts, client credentials to exchange with, a header that is not
// an identity header, an original Authorization that cannot be both replaced and kept, and callers
// that hold a token (no certificate clients).

import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";
import type { PartialConfig } from "./checkConfigRules.ts";

interface Findings {
  readonly problems: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

export function checkExchangeRules(config: PartialConfig, { problems }: Findings): void {
  const providers = config.providers ?? {};
  const identityHeaders = new Set([
    ...Object.values(config.identity?.headers ?? {}),
    ...Object.keys(config.identity?.claimHeaders ?? {}),
  ]);
  (config.routes ?? []).forEach((route, index) => {
    const exchange = route?.exchange;
    if (route === undefined || exchange === undefined || exchange.enabled !== true) return;
    const path = keyPath(keyPath("routes", index), "exchange");
    const problem = (key: string, message: string) => problems.push({ path: keyPath(path, key), message });

    if ((exchange.audience ?? []).length === 0 && (exchange.resource ?? []).length === 0)
      problem("audience", "is empty and so is resource: name the service the exchanged token is for in one of them");
    // A shadow rule never lets a request through, so it has no upstream to exchange a token for.
    if (route.mode === "shadow")
      problem(
        "enabled",
        "is true on a mode: shadow route, which never lets a request through; remove exchange or use enforce",
      );
    if (route.auth === "public")
      problem("enabled", "is true on an auth: public route, where no caller's token is checked; set auth: required");
    // A machine admitted by its certificate alone holds no token the IdP could exchange.
    if ((route.mtls?.clients ?? []).length > 0)
      problem(
        "enabled",
        "is true on a route with mtls.clients, whose callers may present no token to exchange; use separate routes",
      );

    // The providers whose tokens may reach the exchange: the named one, else every one the route accepts.
    const accepted = (route.providers ?? []).filter((p): p is string => p !== undefined);
    const named = exchange.provider;
    if (typeof named === "string" && !(named in providers)) {
      problem("provider", `unknown provider ${JSON.stringify(named)}; name a key of providers`);
      return;
    }
    if (typeof named === "string" && accepted.length > 0 && !accepted.includes(named))
      problem("provider", `${JSON.stringify(named)} is not one of the route's providers (${accepted.join(", ")})`);
    const candidates = typeof named === "string" ? [named] : accepted.length > 0 ? accepted : Object.keys(providers);

    if (typeof exchange.clientId === "string") {
      if (exchange.clientSecret === null)
        problem("clientSecret", "is required with exchange.clientId: pass the client's secret as ${ENV_VAR}");
    } else if (exchange.clientSecret !== null && exchange.clientSecret !== undefined) {
      problem("clientId", "is null but clientSecret is set: name the client the secret belongs to");
    } else {
      for (const name of candidates) {
        const provider = providers[name];
        if (provider !== undefined && (provider.clientId === null || provider.clientSecret === null))
          problem(
            "clientId",
            `is null and provider ${JSON.stringify(name)} has no clientId and clientSecret to exchange with; set exchange.clientId and exchange.clientSecret`,
          );
      }
    }

    const header = exchange.header;
    if (header === "authorization" && exchange.removeAuthorization === false)
      problem(
        "removeAuthorization",
        "is false but header is authorization, which the exchanged token replaces; use another header or remove this",
      );
    if (header === "authorization" && exchange.scheme === null)
      problem("scheme", "is null but header is authorization, which needs a scheme (Bearer)");
    if (header !== undefined && identityHeaders.has(header))
      problem("header", `${JSON.stringify(header)} is an identity header; choose another name`);
  });
}
