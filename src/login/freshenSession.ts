// The Check path's session steps: load the session the cookies name (refusing one no provider
// vouches for any more, or one idle too long), then the refresh check: near the access token's expiry,
// refresh it once (the store coordinates replicas), survive a short IdP outage, slide the idle timeout.
import { createHash } from "node:crypto";
import { describeError } from "../errors/describeError.ts";
import { LoginError } from "../oidc/LoginError.ts";
import type { Session } from "../session/Session.ts";
import type { RefreshRun, StoreLoad, StoreRefresh } from "../session/SessionStore.ts";
import { buildSession } from "./buildSession.ts";
import { sessionDigest } from "./sessionDigest.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";

/** How far the last-seen time may lag: the most an idle timeout ends a session early. */
const LAST_SEEN_STEP_SECONDS = 60;

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
  const idle = login.config.idleTimeoutSeconds;
  const lastSeen = session.lastSeenAt ?? session.createdAt;
  if (idle !== null && lastSeen + idle <= t) {
    login.events?.sessionEnded?.(session.provider, "idle");
    // Which session, as a digest only: its id names its Redis record, and the log is no place for it.
    login.logger?.info?.(
      {
        provider: session.provider,
        session: sessionDigest(session.id),
        idleSeconds: t - lastSeen,
        idleTimeoutSeconds: idle,
      },
      "session ended: idle",
    );
    return { kind: "invalid", clear: await endIdleSession(login, session, present) };
  }
  return loaded;
}

/** An idle session is over: deleted from the store where there is one, its cookies cleared either way. */
async function endIdleSession(login: BrowserLogin, session: Session, present: readonly string[]) {
  try {
    return await login.store.destroy(session, present);
  } catch {
    // Redis could not delete it: the record keeps its old last-seen time, so it stays idle and refused.
    return login.store.clear(present);
  }
}

/** A session after the refresh check: fresh (maybe refreshed), ended, or unavailable (IdP or store). */
export async function freshenSession(
  login: BrowserLogin,
  session: Session,
  present: readonly string[],
): Promise<StoreRefresh> {
  // Without an idle timeout nothing is added to the path, not even an await.
  if (login.config.idleTimeoutSeconds === null) return refreshCheck(login, session, present);
  const outcome = await refreshCheck(login, session, present);
  if (outcome.kind !== "fresh") return outcome;
  return markSeen(login, outcome.session, outcome.setCookies, present);
}

/**
 * Slides the idle timeout: a session last seen a minute ago or more is written back with the time
 * now, so a busy session costs a store write (or a re-sealed cookie) once a minute, not per request.
 */
async function markSeen(
  login: BrowserLogin,
  session: Session,
  setCookies: readonly string[],
  present: readonly string[],
): Promise<StoreRefresh> {
  const t = login.nowSeconds();
  if (t - (session.lastSeenAt ?? session.createdAt) < LAST_SEEN_STEP_SECONDS) {
    return { kind: "fresh", session, setCookies };
  }
  try {
    const touched = await login.store.touch(session, present, t);
    return { kind: "fresh", session: touched.session, setCookies: [...setCookies, ...touched.setCookies] };
  } catch {
    // The store is down: this request still holds a valid session; the next one tries again, and
    // if none gets through the session ends idle, which is the safe side.
    return { kind: "fresh", session, setCookies };
  }
}

async function refreshCheck(login: BrowserLogin, session: Session, present: readonly string[]): Promise<StoreRefresh> {
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
