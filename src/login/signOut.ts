// `POST /oauth2/sign_out`: ends the browser's session for every replica (the store deletes it,
// the revocation list refuses copies of its cookie) and sends the browser to the IdP's end-session
// endpoint, or straight to the return address. Never a false "signed out": when neither could be
// made to hold, the cookie is kept so the user's retry finishes the job.
import type { Session } from "../session/Session.ts";
import type { StoreLoad } from "../session/SessionStore.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";

export type SignOutOutcome =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] }
  | { readonly kind: "refused"; readonly reason: "redirect_not_allowed" }
  /**
   * The sign-out could not be made to hold for every replica (the session store or the shared
   * revocation list did not answer): this replica refuses the session, the cookie is kept, and the
   * user is asked to try again. `reason` is the registry code (page and log).
   */
  | { readonly kind: "unavailable"; readonly reason: "signout_unavailable"; readonly detail: string };

export async function signOut(
  login: BrowserLogin,
  cookies: ReadonlyMap<string, string>,
  rd: string | null,
): Promise<SignOutOutcome> {
  const t = login.nowSeconds();
  // Straight from the store, not through loadSession: a session this replica already refuses (a
  // sign-out that answered 503, a back-channel logout) must still be deleted and shared by this sign-out.
  const loaded = await login.store.load(cookies, t);
  const session = loaded.kind === "session" ? loaded.session : null;
  const provider = session === null ? undefined : login.providers.get(session.provider);
  const vouched =
    session !== null && provider !== undefined && provider.issuer === session.iss && session.expiresAt > t;
  const origin = (vouched && login.loginOrigins.get(session.provider)) || login.defaultOrigin;
  const target = login.redirects.resolve(rd ?? login.config.postLogoutRedirect, origin);
  if (target === null) return { kind: "refused", reason: "redirect_not_allowed" };
  if (loaded.kind === "unavailable") return refuseUnreadSession(login, cookies, loaded, t);
  const ended = await endSession(login, cookies, session);
  if (ended.kind === "unavailable") return ended;
  if (session !== null && vouched) {
    const client = login.loginClient(session.provider);
    const endSessionUrl =
      client?.endSessionUrl({ idTokenHint: session.idToken, postLogoutRedirectUri: target }) ?? null;
    if (endSessionUrl !== null) return { kind: "redirect", location: endSessionUrl, setCookies: ended.setCookies };
  }
  return { kind: "redirect", location: target, setCookies: ended.setCookies };
}

/**
 * The store could not read the session: nothing can be deleted or shared, but the cookie names its
 * session without the store, so this replica refuses that id (under every provider, as the provider
 * is in the stored session) for as long as a session can live. The cookie stays for the retry.
 */
function refuseUnreadSession(
  login: BrowserLogin,
  cookies: ReadonlyMap<string, string>,
  loaded: Extract<StoreLoad, { kind: "unavailable" }>,
  t: number,
): SignOutOutcome {
  const id = login.store.sessionIdOf(cookies, t);
  if (id !== null)
    for (const p of login.providers.values())
      login.revocations.endSessionHere({ id, provider: p.name, expiresAt: t + login.config.lifetimeSeconds });
  return {
    kind: "unavailable",
    reason: "signout_unavailable",
    detail: `the session could not be read: ${loaded.reason}`,
  };
}

/** Deletes the stored session and shares its revocation; either one is enough to hold everywhere. */
async function endSession(
  login: BrowserLogin,
  cookies: ReadonlyMap<string, string>,
  session: Session | null,
): Promise<
  { readonly kind: "ended"; readonly setCookies: readonly string[] } | Extract<SignOutOutcome, { kind: "unavailable" }>
> {
  const { store, logger } = login;
  const present = [...cookies.keys()].filter((name) => store.owns(name));
  let setCookies: readonly string[];
  // Whether the stored session is gone for every replica (only the Redis store keeps one).
  let deleted = false;
  let deleteFault: string | null = null;
  try {
    setCookies = await store.destroy(session, present);
    deleted = store.kind === "redis" && session !== null;
  } catch (error) {
    deleteFault = error instanceof Error ? error.message : "unknown";
    setCookies = store.clear(present);
  }
  if (session === null) {
    if (deleteFault !== null) logger?.warn({ reason: deleteFault }, "sign-out could not delete the stored session");
    return { kind: "ended", setCookies };
  }
  // A copy of the cookie taken before now (a sealed cookie session is valid wherever it is
  // presented) is refused from here on: here at once, on every replica through Redis.
  let shared = true;
  try {
    await login.revocations.endSession(session);
  } catch (error) {
    shared = false;
    logger?.warn(
      { reason: error instanceof Error ? error.message : "unknown" },
      "sign-out could not share the session's revocation",
    );
  }
  // Neither deleted nor revoked for the other replicas: a copy of the cookie would work there
  // again. Only this replica refuses it now; keep the cookie so the user's retry shares it.
  if (!deleted && !shared) {
    return {
      kind: "unavailable",
      reason: "signout_unavailable",
      detail:
        deleteFault === null
          ? "the shared revocation could not be written"
          : `neither the stored session could be deleted (${deleteFault}) nor the shared revocation written`,
    };
  }
  if (deleteFault !== null)
    logger?.warn(
      { reason: deleteFault },
      "sign-out could not delete the stored session; the shared revocation refuses it",
    );
  return { kind: "ended", setCookies };
}
