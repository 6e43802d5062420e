// `GET /oauth2/callback`: completes a login. The state must name a pending login transaction of
// this browser (its cookie) that was not used before; the code is exchanged, a step-up must bring
// the level it asked for and an incremental consent its scopes, and the new session is stored (the
// one the browser held before, if any, ends: storeNewSession).
// Every failure goes through `fail` with a registry code (status, public text, log and metric
// reason) and a detail for the log.
import { describeError } from "../errors/describeError.ts";
import { LoginError } from "../oidc/LoginError.ts";
import { ERROR_CODES, type CodeOn } from "../errors/ErrorCode.ts";
import type { LoginTransaction } from "../session/LoginTransaction.ts";
import { SessionStoreUnavailableError } from "../session/SessionStore.ts";
import { SessionTooLargeError } from "../session/SessionTooLargeError.ts";
import { readScopes } from "../identity/readScopes.ts";
import { buildSession } from "./buildSession.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";
import { storeNewSession } from "./storeNewSession.ts";

export type CallbackOutcome =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] }
  | {
      readonly kind: "error";
      /** The registry code: the page's status and public text, the log's and metric's reason. */
      readonly reason: CodeOn<"callback">;
      /** The code's status in the registry. */
      readonly status: number;
      /** Public text the page adds to the code's description: the IdP's own OAuth error, when plain. */
      readonly note: string | null;
      readonly retry: string | null;
      readonly setCookies: readonly string[];
      readonly detail: string;
    };

export async function completeLogin(
  login: BrowserLogin,
  query: URLSearchParams,
  cookies: ReadonlyMap<string, string>,
  /** The browser's User-Agent: the Redis store keeps a short digest of it for the session admin's listing. */
  userAgent: string | null = null,
): Promise<CallbackOutcome> {
  const state = query.get("state");
  if (state === null || state.length === 0 || state.length > 512) {
    if (query.get("error") !== null) return fail(login, "idp_error", "error response without state", null, "/");
    return fail(login, "state_missing", "callback without state", null, "/");
  }
  const { txn, clear } = login.loginCookies.take(state, cookies, login.nowSeconds());
  if (txn === null) return fail(login, "state_mismatch", "no pending login matches the state", null, "/", clear);
  if (login.usedStates.has(state))
    return fail(login, "callback_replayed", "state already used", txn.provider, txn.returnTo, clear);
  login.usedStates.set(state, true);
  const client = login.loginClient(txn.provider);
  if (client === null) return fail(login, "idp_unavailable", "provider not ready", txn.provider, txn.returnTo, clear);
  try {
    const tokens = await client.complete(query, txn);
    // A step-up login must bring the level it asked for; otherwise the page would send the
    // browser straight back to the IdP, round and round.
    const acr = tokens.idTokenClaims?.["acr"];
    if (
      txn.acrValues !== undefined &&
      txn.acrValues.length > 0 &&
      (typeof acr !== "string" || !txn.acrValues.includes(acr))
    )
      return fail(
        login,
        "acr_not_met",
        "the ID token's acr is not one of the acr_values asked for",
        txn.provider,
        null,
        clear,
      );
    const session = await buildSession(login, txn.provider, tokens, null, txn.scopes);
    // An incremental consent must bring the scopes it asked for, as the new session carries them
    // (what the route reads); otherwise the page would send the browser straight back, round and round.
    const lacking = lackingScopes(txn, session.claims);
    if (lacking !== null)
      return fail(
        login,
        "scope_not_granted",
        `the new session lacks the scopes the consent asked for: ${lacking}`,
        txn.provider,
        null,
        clear,
      );
    // The session the browser held (a step-up's or a consent's, or another sign-in's) ends with it.
    const setCookies = [...clear, ...(await storeNewSession(login, session, cookies, userAgent))];
    const origin = login.loginOrigins.get(txn.provider) ?? login.defaultOrigin;
    login.events?.loginCompleted(txn.provider);
    return { kind: "redirect", location: login.redirects.resolve(txn.returnTo, origin) ?? `${origin}/`, setCookies };
  } catch (error) {
    return failedExchange(login, error, txn, clear);
  }
}

/** The consent's scopes (configured names, so fit for the log) the session lacks, or null when it has them all. */
function lackingScopes(txn: LoginTransaction, claims: Readonly<Record<string, unknown>>): string | null {
  if (txn.scopes === undefined) return null;
  const granted = readScopes(claims);
  const lacking = txn.scopes.filter((scope) => !granted.has(scope));
  return lacking.length === 0 ? null : lacking.join(", ");
}

/** The code exchange or the session's storage threw: which failure the browser sees. */
function failedExchange(
  login: BrowserLogin,
  error: unknown,
  txn: LoginTransaction,
  clear: readonly string[],
): CallbackOutcome {
  const { provider, returnTo } = txn;
  // Every login client code is a callback code: the registry holds its status and public text. The
  // page names the IdP's own error only when the IdP refused the sign-in (the user cancelled); a
  // token endpoint's refusal (invalid_client, ...) is for the operator's log, not the browser.
  if (error instanceof LoginError)
    return fail(
      login,
      error.code,
      error.message,
      provider,
      returnTo,
      clear,
      error.code === "idp_error" ? error.idpError : null,
    );
  if (error instanceof SessionStoreUnavailableError)
    return fail(login, "session_store_unavailable", error.message, provider, returnTo, clear);
  if (error instanceof SessionTooLargeError)
    return fail(login, "session_too_large", error.message, provider, null, clear);
  return fail(login, "internal_error", `unexpected ${describeError(error)}`, provider, returnTo, clear);
}

/** One failed callback, counted once; `retry` is where the error page's "Try again" link goes (null: none). */
function fail(
  login: BrowserLogin,
  reason: CodeOn<"callback">,
  detail: string,
  provider: string | null,
  retry: string | null,
  setCookies: readonly string[] = [],
  note: string | null = null,
): CallbackOutcome {
  login.events?.loginFailed(provider, reason);
  return { kind: "error", reason, status: ERROR_CODES[reason].status, note, retry, setCookies, detail };
}
