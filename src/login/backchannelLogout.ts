// `POST /oauth2/backchannel_logout` (OpenID Connect Back-Channel Logout 1.0): verifies the IdP's
// logout token and ends the sessions it names, and the bearer tokens of that IdP session (`sid`) or
// user (`sub`). The revocation (what refuses them on every replica) decides the answer; deleting the
// stored sessions afterwards is housekeeping.
import { SessionStoreUnavailableError } from "../session/SessionStore.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";
import { revocationLifetimeSeconds } from "./revocationLifetimeSeconds.ts";

/** The endpoint's answer (section 2.8): ok, a token refused, or a logout that could not be recorded. */
export type BackchannelOutcome =
  | { readonly kind: "ok"; readonly sessionsEnded: number }
  | { readonly kind: "invalid"; readonly detail: string }
  | { readonly kind: "unavailable"; readonly detail: string };

export async function backchannelLogout(login: BrowserLogin, logoutToken: string): Promise<BackchannelOutcome> {
  const report = (provider: string | null, result: "ok" | "invalid" | "replayed" | "unavailable", ended = 0) =>
    login.events?.backchannelLogout?.(provider, result, ended);
  if (login.verifyLogoutToken === null) {
    report(null, "invalid");
    return { kind: "invalid", detail: "back-channel logout is not available" };
  }
  const { provider, outcome } = await login.verifyLogoutToken(logoutToken);
  if (!outcome.ok || provider === null) {
    const unavailable = !outcome.ok && outcome.code === "logout_unavailable";
    report(provider, unavailable ? "unavailable" : "invalid");
    const detail = outcome.ok ? "no provider for this issuer" : outcome.detail;
    return unavailable ? { kind: "unavailable", detail } : { kind: "invalid", detail };
  }
  const claims = outcome.claims;
  try {
    // With a sid the logout names one IdP session; with only a sub, every session of that user.
    const by = claims.sid !== null ? { sid: claims.sid, sub: null } : { sid: null, sub: claims.sub };
    // Kept as long as the sessions and bearer tokens it refuses can live, under the settings in force now.
    const recorded = await login.revocations.revoke(
      { provider, ...by, at: Math.max(claims.iat, login.nowSeconds()) },
      revocationLifetimeSeconds(login.config, login.providers.values()),
      { issuer: claims.iss, jti: claims.jti },
    );
    if (recorded === "replayed") {
      report(provider, "replayed");
      return { kind: "invalid", detail: "logout token replayed (jti already used)" };
    }
    // The revocation already refuses these sessions everywhere; deleting them frees Redis at once.
    // If that fails the logout is still in effect (the IdP must not post it again only to be
    // refused as a replay): the stored sessions then expire by themselves.
    const ended = await login.store.revoke(provider, by).catch((error: unknown) => {
      if (!(error instanceof SessionStoreUnavailableError)) throw error;
      login.logger?.warn(
        { provider, reason: error.message },
        "back-channel logout recorded; its stored sessions could not be deleted yet",
      );
      return 0;
    });
    report(provider, "ok", ended);
    login.logger?.info?.(
      { provider, by: claims.sid !== null ? "sid" : "sub", storedSessionsEnded: ended },
      "back-channel logout",
    );
    return { kind: "ok", sessionsEnded: ended };
  } catch (error) {
    if (!(error instanceof SessionStoreUnavailableError)) throw error;
    report(provider, "unavailable");
    return { kind: "unavailable", detail: error.message };
  }
}
