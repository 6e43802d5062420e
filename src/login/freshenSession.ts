// The Check path's session steps: load the session the cookies name (and refuse one no provider
// vouches for any more), then the refresh check: near the access token's expiry, refresh it once
// (the store coordinates replicas) and keep the session working through a short IdP outage.
import { createHash } from "node:crypto";
import { describeError } from "../errors/describeError.ts";
import { LoginError } from "../oidc/LoginError.ts";
import type { Session } from "../session/Session.ts";
import type { RefreshRun, StoreLoad, StoreRefresh } from "../session/SessionStore.ts";
import { buildSession } from "./buildSession.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";

/** A session as the store found it, checked against the providers and the revocation list. */
export async function loadSession(login: BrowserLogin, cookies: ReadonlyMap<string, string>): Promise<StoreLoad> {
  const t = login.nowSeconds();
  const loaded = await login.store.load(cookies, t);
  if (loaded.kind !== "session") return loaded;
  const { session, present } = loaded;
  const provider = login.providers.get(session.provider);
  // Checked on every request, cached or not: a session from a provider that was removed or whose
  // issuer changed is no longer vouched for, and one a back-channel logout named is over.
  if (
    provider === undefined ||
    provider.issuer !== session.iss ||
    session.expiresAt <= t ||
    login.revocations.isRevoked(session)
  ) {
    return { kind: "invalid", clear: login.store.clear(present) };
  }
  return loaded;
}

/** A session after the refresh check: fresh (maybe refreshed), ended, or unavailable (IdP or store). */
export async function freshenSession(
  login: BrowserLogin,
  session: Session,
  present: readonly string[],
): Promise<StoreRefresh> {
  const t = login.nowSeconds();
  const remaining = session.accessTokenExpiresAt - t;
  // Never more than half the token's own lifetime: with 5-minute tokens (Keycloak's default) a
  // 5-minute window would refresh on every request.
  const lifetime = session.accessTokenExpiresAt - session.accessTokenIssuedAt;
  const window = Math.min(login.config.refreshWindowSeconds, Math.floor(lifetime / 2));
  if (remaining > window) return { kind: "fresh", session, setCookies: [] };
  const stillValid = remaining > 0;
  if (session.refreshToken === null) {
    return stillValid
      ? { kind: "fresh", session, setCookies: [] }
      : {
          kind: "ended",
          clear: login.store.clear(present),
          reason: "access token expired and there is no refresh token",
        };
  }
  const backoffKey = hashOf(session.refreshToken);
  const client = login.loginClient(session.provider);
  if (client === null || login.refreshBackoff.has(backoffKey)) {
    return stillValid
      ? { kind: "fresh", session, setCookies: [] }
      : { kind: "unavailable", reason: "provider not ready for refresh", cause: "idp" };
  }
  const refreshToken = session.refreshToken;
  const run = async (): Promise<RefreshRun> => {
    try {
      const tokens = await client.refresh(refreshToken, { sub: session.sub });
      const refreshed = await buildSession(login, session.provider, tokens, session);
      login.countRefresh(session.provider, "ok", backoffKey);
      return { kind: "refreshed", session: refreshed };
    } catch (error) {
      if (error instanceof LoginError && error.code === "token_endpoint_unavailable") {
        // Requests that shared the failed call count it once; a retry after the backoff counts again.
        if (!login.refreshBackoff.has(backoffKey)) login.events?.refreshed(session.provider, "unavailable");
        login.refreshBackoff.set(backoffKey, true);
        return { kind: "unavailable", reason: error.message };
      }
      login.countRefresh(session.provider, "ended", backoffKey);
      return {
        kind: "ended",
        reason:
          error instanceof LoginError
            ? `refresh failed: ${error.code}`
            : `refresh failed: unexpected ${describeError(error)}`,
      };
    }
  };
  const outcome = await login.store.refresh(session, present, run, t);
  // The current access token still works: let this request through and try again later.
  if (outcome.kind === "unavailable" && stillValid) return { kind: "fresh", session, setCookies: [] };
  return outcome;
}

function hashOf(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}
