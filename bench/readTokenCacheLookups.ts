// Reads Portcullis's token-cache hit/miss counters from its admin /metrics, so the report can show
// that the ext_authz figures were measured on the cached-token path (misses stay at one or two).
import { fetchText } from "./fetchText.ts";

export interface TokenCacheLookups {
  readonly hits: number;
  readonly misses: number;
}

export async function readTokenCacheLookups(adminPort: number): Promise<TokenCacheLookups> {
  const { status, body } = await fetchText(`http://127.0.0.1:${adminPort}/metrics`);
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  const sum = (result: string) => {
    let total = 0;
    const pattern = new RegExp(
      `^portcullis_token_cache_lookups_total\\{[^}]*result="${result}"[^}]*\\}\\s+([\\d.e+]+)$`,
      "gm",
    );
    for (const m of body.matchAll(pattern)) total += Number(m[1]);
    return total;
  };
  return { hits: sum("hit"), misses: sum("miss") };
}
