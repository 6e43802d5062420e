// What the Gate needs of token exchange (RFC 8693), and no more: per route, where the exchanged
// token goes upstream and the exchange itself, which answers a value (never throws) so a failed
// exchange becomes a denial. Implemented by createTokenExchange.ts.

/** The result of one exchange, or of a cached one. Never carries the caller's token. */
export type ExchangeOutcome =
  | { readonly kind: "token"; readonly token: string; readonly fromCache: boolean }
  /** The IdP answered with an OAuth error other than invalid_client: it will not exchange this token. */
  | { readonly kind: "refused"; readonly detail: string; readonly provider: string }
  /** Unreachable, timed out, 5xx, an unusable answer, our own client refused, or the provider not loaded. */
  | { readonly kind: "unavailable"; readonly detail: string; readonly provider: string };

export interface RouteTokenExchange {
  /** Upstream header of the exchanged token (lower-case). */
  readonly header: string;
  /** Written before the token with one space; null = the bare token. */
  readonly scheme: string | null;
  /** Remove the client's Authorization header (always, when `header` is authorization). */
  readonly removeAuthorization: boolean;
  /**
   * `subjectExp`: the caller's token's `exp` (epoch seconds), which bounds how long the result is
   * reused; `provider`: the provider that verified the caller's credential.
   */
  exchange(subjectToken: string, provider: string, subjectExp: number | null): Promise<ExchangeOutcome>;
}

export interface TokenExchangePort {
  /** The route's exchange, or null when the route has none. */
  forRoute(route: string): RouteTokenExchange | null;
}
