// The last step of an allowed request on a route with token exchange (RFC 8693): the upstream gets
// the token the IdP exchanged the caller's for, in the route's header, instead of the caller's own;
// a refused or failed exchange denies (fail closed), never lets the request through without it.
import type { RouteTokenExchange } from "../oidc/TokenExchange.ts";
import type { Allow, Decision } from "./Decision.ts";
import { deny } from "./deny.ts";

export interface ExchangeSubject {
  /** The caller's access token: the bearer token, or the session's access token. */
  readonly token: string;
  /** When that token expires (epoch seconds), if known. */
  readonly tokenExp: number | null;
  readonly provider: string;
  /** Deny with a page rather than JSON (a browser navigation with a session). */
  readonly browser: boolean;
}

export async function withExchangedToken(
  exchange: RouteTokenExchange,
  allow: Allow,
  subject: ExchangeSubject,
): Promise<Decision> {
  const outcome = await exchange.exchange(subject.token, subject.provider, subject.tokenExp);
  if (outcome.kind !== "token") {
    // A refreshed session's one Set-Cookie still reaches the browser (Envoy keeps one on a denial).
    const cookies = allow.responseHeaders?.length === 1 ? allow.responseHeaders : undefined;
    return deny(outcome.kind === "refused" ? "token_exchange_refused" : "token_exchange_unavailable", {
      route: allow.route,
      provider: outcome.provider,
      detail: outcome.detail,
      browser: subject.browser,
      ...(cookies !== undefined ? { extraHeaders: cookies } : {}),
    });
  }
  const { header } = exchange;
  const value = exchange.scheme === null ? outcome.token : `${exchange.scheme} ${outcome.token}`;
  // Envoy applies removals after it sets headers: the header we set must not also be removed.
  let remove = allow.removeHeaders.filter((name) => name !== header);
  if (exchange.removeAuthorization && header !== "authorization" && !remove.includes("authorization"))
    remove = [...remove, "authorization"];
  if (!exchange.removeAuthorization) remove = remove.filter((name) => name !== "authorization");
  return {
    ...allow,
    setHeaders: [...allow.setHeaders.filter(([name]) => name !== header), [header, value]],
    removeHeaders: remove,
  };
}
