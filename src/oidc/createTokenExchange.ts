// Token exchange (RFC 8693) for the routes that ask for it: per route, the exchanged token is cached
// per (SHA-256 of the caller's token, provider) until `expiryMarginSeconds` before it expires and
// never past the caller's token's `exp` (a bounded LRU on the injected clock), and identical
// concurrent exchanges share one call. Failures are answered as values and never cached.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { Clock } from "../clock/Clock.ts";
import type { RouteConfig } from "../config/PortcullisConfig.ts";
import type { FetchLike } from "./boundedFetch.ts";
import { postTokenExchange } from "./postTokenExchange.ts";
import type { ExchangeOutcome, RouteTokenExchange, TokenExchangePort } from "./TokenExchange.ts";

export type ExchangeConfig = NonNullable<RouteConfig["exchange"]>;

/** What an exchange needs to know of a provider once it is loaded; null while it is not. */
export interface ExchangeProvider {
  readonly tokenEndpoint: string;
  readonly clientId: string | null;
  readonly clientSecret: string | null;
}

export type ExchangeResult = "exchanged" | "cache_hit" | "refused" | "unavailable";

export interface TokenExchangeOptions {
  readonly provider: (name: string) => ExchangeProvider | null;
  readonly clock: Clock;
  readonly fetch?: FetchLike;
  /** Counts each exchange answered, by provider and result (metrics). */
  readonly observe?: (provider: string, result: ExchangeResult) => void;
}

/** The port for every route of `routes` whose exchange is enabled; null when none is. */
export function createTokenExchange(
  routes: readonly RouteConfig[],
  options: TokenExchangeOptions,
): TokenExchangePort | null {
  const byRoute = new Map<string, RouteTokenExchange>();
  for (const route of routes)
    if (route.exchange?.enabled === true) byRoute.set(route.name, createRouteTokenExchange(route.exchange, options));
  if (byRoute.size === 0) return null;
  return { forRoute: (name) => byRoute.get(name) ?? null };
}

interface Cached {
  readonly token: string;
}

export function createRouteTokenExchange(config: ExchangeConfig, options: TokenExchangeOptions): RouteTokenExchange {
  const { clock } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const observe = options.observe ?? (() => undefined);
  const cache = new LRUCache<string, Cached>({
    max: config.cacheMaxEntries,
    // lru-cache reads its clock from `perf.now()`; ours is injectable for tests (see createRefreshCoalescer).
    perf: { now: () => clock.now() },
    ttlResolution: 0,
    ttlAutopurge: false,
  });
  const inFlight = new Map<string, Promise<ExchangeOutcome>>();

  const run = async (key: string, subjectToken: string, provider: string, subjectExp: number | null) => {
    const loaded = options.provider(provider);
    if (loaded === null) return { kind: "unavailable", provider, detail: "provider not loaded yet" } as const;
    const clientId = config.clientId ?? loaded.clientId;
    const clientSecret = config.clientId === null ? loaded.clientSecret : config.clientSecret;
    // check-config refuses this; a config built in code could still leave it out.
    if (clientId === null || clientSecret === null)
      return { kind: "unavailable", provider, detail: "no client credentials to exchange with" } as const;
    const sentAt = Math.floor(clock.now() / 1000);
    const answer = await postTokenExchange(
      fetchImpl,
      {
        endpoint: loaded.tokenEndpoint,
        subjectToken,
        audience: config.audience,
        resource: config.resource,
        scopes: config.scopes,
        clientId,
        clientSecret,
        authMethod: config.authMethod,
        timeoutMs: config.timeoutMs,
      },
      sentAt,
    );
    if (answer.kind !== "token") return { ...answer, provider };
    const ttlMs = reuseMs(answer.expiresAt, subjectExp, config.expiryMarginSeconds, clock.now());
    if (ttlMs > 0) cache.set(key, { token: answer.token }, { ttl: ttlMs });
    return { kind: "token", token: answer.token, fromCache: false } as const;
  };

  return {
    header: config.header,
    scheme: config.scheme,
    removeAuthorization: config.header === "authorization" || config.removeAuthorization,
    async exchange(subjectToken, provider, subjectExp) {
      if (config.provider !== null && provider !== config.provider) {
        observe(provider, "refused");
        return { kind: "refused", provider, detail: `exchange is for provider ${config.provider}'s tokens only` };
      }
      const key = `${createHash("sha256").update(subjectToken).digest("base64url")} ${provider}`;
      const hit = cache.get(key);
      if (hit !== undefined) {
        observe(provider, "cache_hit");
        return { kind: "token", token: hit.token, fromCache: true };
      }
      const shared = inFlight.get(key);
      if (shared !== undefined) return shared;
      const flight = run(key, subjectToken, provider, subjectExp).then(
        (outcome) => {
          observe(provider, outcome.kind === "token" ? "exchanged" : outcome.kind);
          return outcome;
        },
        (err: unknown): ExchangeOutcome => {
          observe(provider, "unavailable");
          return { kind: "unavailable", provider, detail: `unexpected ${err instanceof Error ? err.name : "fault"}` };
        },
      );
      inFlight.set(key, flight);
      void flight.finally(() => inFlight.delete(key));
      return flight;
    },
  };
}

/** How long an exchanged token is reused: until the margin before its expiry, never past the caller's `exp`. */
function reuseMs(expiresAt: number | null, subjectExp: number | null, marginSeconds: number, nowMs: number): number {
  if (expiresAt === null) return 0;
  const until = Math.min(expiresAt - marginSeconds, subjectExp ?? Number.POSITIVE_INFINITY) * 1000;
  return Math.floor(until - nowMs);
}
