// What the Gate needs of browser sessions, and no more: our cookies (to read them and to keep them
// from the upstream), the session they name, its refresh check, and a login to send a browser to.
import type { Session } from "../session/Session.ts";
import type { StoreLoad, StoreRefresh } from "../session/SessionStore.ts";
import type { LoginStart, StepUp } from "./startLogin.ts";

/** A session as the store found it (see src/session/SessionStore.ts). */
export type SessionLoad = StoreLoad;

/** A session after the refresh check: fresh (maybe refreshed), ended, or unavailable (IdP or store). */
export type Freshness = StoreRefresh;

export interface SessionPort {
  /** Every cookie of ours starts with this: a Cookie header without it needs no parsing. */
  readonly cookiePrefix: string;
  /** Whether a cookie name is one of ours (session chunks, login transactions): never sent upstream. */
  owns(name: string): boolean;
  /** The request's cookies, read with limits that fit a whole chunked session. */
  parseCookies(header: string | undefined): Map<string, string>;
  load(cookies: ReadonlyMap<string, string>): Promise<SessionLoad>;
  freshen(session: Session, present: readonly string[]): Promise<Freshness>;
  /** The provider a login on a route goes to; null when none of the route's providers has a client. */
  loginProviderFor(routeProviders: readonly string[]): string | null;
  /** The scopes a session of this provider may be sent back to ask for (`providers.<name>.consentScopes`). */
  consentScopesOf(provider: string): ReadonlySet<string>;
  startLogin(
    target: { scheme: string; host: string; path: string },
    provider: string,
    cookies: ReadonlyMap<string, string>,
    stepUp?: StepUp,
  ): Promise<LoginStart>;
}
