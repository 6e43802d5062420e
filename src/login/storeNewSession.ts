// Stores a completed login's session and ends the one it replaces (a step-up, an incremental consent
// or a new sign-in over a session the browser still holds), as a sign-out ends it, so a copy of the
// old cookie stops working; the user stays signed in at the IdP (no end-session, no logout token).
import type { Session } from "../session/Session.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";
import { sessionDigest } from "./sessionDigest.ts";

/** The session the browser's cookies hold, if they are authentic: opened by the store, or (store down) an id under a valid seal. */
type Replaced = { readonly session: Session } | { readonly id: string } | null;

/**
 * Returns the new session's Set-Cookie values. Throws what `store.create` throws: the login fails
 * and the browser keeps the session it had (with Redis, unless the timed-out write ran after all:
 * then the old session ended with it and the browser signs in again). Once the new session is
 * stored the login succeeds; a replaced session that could not be ended for every replica is
 * refused by this one at least, and the log says so at warn.
 */
export async function storeNewSession(
  login: BrowserLogin,
  session: Session,
  cookies: ReadonlyMap<string, string>,
  userAgent: string | null,
): Promise<readonly string[]> {
  const t = login.nowSeconds();
  const replaced = await replacedSession(login, cookies, t);
  const old =
    replaced !== null && "session" in replaced && replaced.session.id !== session.id ? replaced.session : null;
  // The Redis store deletes the old session in the same transaction as it writes the new one.
  const setCookies = await login.store.create(session, cookies, t, userAgent, old);
  if (old !== null) {
    login.events?.sessionEnded?.(old.provider, "replaced");
    login.logger?.info?.(
      { provider: old.provider, session: sessionDigest(old.id), by: sessionDigest(session.id) },
      "session ended: replaced by a new login",
    );
    // A sealed cookie session is valid wherever it is presented: only its id revoked stops a copy.
    if (login.store.kind === "cookie") await revoke(login, [old], old.id);
  } else if (replaced !== null && "id" in replaced && replaced.id !== session.id) {
    // The store could not read the session its cookie names (Redis down): its provider is unknown,
    // so its id is revoked under each one, for as long as a session can live.
    const expiresAt = t + login.config.lifetimeSeconds;
    const ends = [...login.providers.values()].map((p) => ({ id: replaced.id, provider: p.name, expiresAt }));
    await revoke(login, ends, replaced.id);
  }
  return setCookies;
}

async function replacedSession(
  login: BrowserLogin,
  cookies: ReadonlyMap<string, string>,
  t: number,
): Promise<Replaced> {
  // Straight from the store, as a sign-out reads it: a session this replica already refuses is
  // still ended. Never an unauthenticated cookie's id: the store opens the session or names none.
  const loaded = await login.store.load(cookies, t);
  if (loaded.kind === "session") return { session: loaded.session };
  if (loaded.kind !== "unavailable") return null;
  const id = login.store.sessionIdOf(cookies, t);
  return id === null ? null : { id };
}

/** Revokes the replaced session for every replica; this replica refuses it whatever Redis answers. */
async function revoke(
  login: BrowserLogin,
  ends: readonly { readonly id: string; readonly provider: string; readonly expiresAt: number }[],
  id: string,
): Promise<void> {
  for (const end of ends) {
    try {
      await login.revocations.endSession(end);
    } catch (error) {
      login.logger?.warn(
        { session: sessionDigest(id), reason: error instanceof Error ? error.message : "unknown" },
        "a new login could not share the revocation of the session it replaced; this replica refuses it",
      );
      // The remaining ends would meet the same fault: remember them here at once.
      for (const rest of ends) login.revocations.endSessionHere(rest);
      return;
    }
  }
}
