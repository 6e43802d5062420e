// portcullis_token_exchanges_total{provider,result}: token exchanges (RFC 8693) by result, cache
// hits included. Registered on the process's registry once and found again by the pipelines a
// config reload builds, so its series outlive a reload as the other counters do.
import { Counter, type Registry } from "prom-client";

export const TOKEN_EXCHANGE_RESULTS = ["exchanged", "cache_hit", "refused", "unavailable"] as const;

const NAME = "portcullis_token_exchanges_total";

export function tokenExchangeCounter(registry: Registry): Counter<"provider" | "result"> {
  const known = registry.getSingleMetric(NAME);
  if (known instanceof Counter) return known as Counter<"provider" | "result">;
  return new Counter({
    name: NAME,
    help: "Token exchanges for upstreams (RFC 8693) by provider and result: exchanged, cache_hit (an exchanged token reused), refused (the IdP said no: 403), unavailable (503).",
    labelNames: ["provider", "result"] as const,
    registers: [registry],
  });
}
