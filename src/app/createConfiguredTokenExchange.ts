// Wires token exchange (RFC 8693) for the routes whose `exchange` is enabled: each provider's token
// endpoint from its discovery document once loaded (https only unless the provider allows http),
// its client credentials, the pipeline's clock, and the exchange counter.
import type { Clock } from "../clock/Clock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { Metrics } from "../observability/Metrics.ts";
import { TOKEN_EXCHANGE_RESULTS, tokenExchangeCounter } from "../observability/tokenExchangeCounter.ts";
import { createTokenExchange, type ExchangeProvider } from "../oidc/createTokenExchange.ts";
import type { ProviderRegistry } from "../oidc/ProviderRegistry.ts";
import type { TokenExchangePort } from "../oidc/TokenExchange.ts";

export function createConfiguredTokenExchange(
  config: PortcullisConfig,
  registry: ProviderRegistry,
  metrics: Metrics,
  clock: Clock,
): TokenExchangePort | null {
  if (!config.routes.some((route) => route.exchange?.enabled === true)) return null;
  const counter = tokenExchangeCounter(metrics.registry);
  for (const provider of Object.keys(config.providers))
    for (const result of TOKEN_EXCHANGE_RESULTS) counter.inc({ provider, result }, 0);
  return createTokenExchange(config.routes, {
    provider: (name) => exchangeProviderOf(registry, name),
    clock,
    observe: (provider, result) => counter.inc({ provider, result }),
  });
}

function exchangeProviderOf(registry: ProviderRegistry, name: string): ExchangeProvider | null {
  const loaded = registry.loaded(name);
  const endpoint = loaded?.metadata["token_endpoint"];
  if (loaded === null || typeof endpoint !== "string") return null;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loaded.config.allowInsecureHttp)) return null;
  return { tokenEndpoint: endpoint, clientId: loaded.config.clientId, clientSecret: loaded.config.clientSecret };
}
