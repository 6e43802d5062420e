// `GET /oauth2/callback`: completes a login. The state must name a pending login transaction of
// this browser (its cookie) that was not used before; the code is exchanged, a step-up must bring
// the level it asked for, and the new session is stored. Every failure goes through `fail`, one
// row per case: HTTP status, stable reason (log and metric), public message, log detail.
import type { LoginTransaction } from "../session/LoginTransaction.ts";
import { LoginError } from "../oidc/LoginError.ts";
import { SessionStoreUnavailableError } from "../session/SessionStore.ts";
import { SessionTooLargeError } from "../session/SessionTooLargeError.ts";
import { buildSession } from "./buildSession.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";
import { describeUnexpected } from "./describeUnexpected.ts";

export type CallbackOutcome =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] }
  | {
      readonly kind: "error";
      readonly status: 400 | 502 | 503;
      readonly reason: string;
      /** Public text for the error page (escaped by the page renderer). */
      readonly message: string;
      readonly retry: string | null;
      readonly setCookies: readonly string[];
      readonly detail: string;
    };

export async function completeLogin(
  login: BrowserLogin,
  query: URLSearchParams,
  cookies: ReadonlyMap<string, string>,
): Promise<CallbackOutcome> {
  const state = query.get("state");
  if (state === null || state.length === 0 || state.length > 512) {
    if (query.get("error") !== null)
      return fail(
        login,
        400,
        "idp_error",
        "The identity provider did not sign you in.",
        "error response without state",
        null,
        "/",
      );
    return fail(
      login,
      400,
      "state_missing",
      "This sign-in link is incomplete or has expired.",
      "callback without state",
      null,
      "/",
    );
  }
  const { txn, clear } = login.loginCookies.take(state, cookies, login.nowSeconds());
  if (txn === null)
    return fail(
      login,
      400,
      "state_mismatch",
      "This sign-in attempt is unknown or has expired. Please try again.",
      "no pending login matches the state",
      null,
      "/",
      clear,
    );
  if (login.usedStates.has(state))
    return fail(
      login,
      400,
      "callback_replayed",
      "This sign-in attempt was already used. Please try again.",
      "state already used",
      txn.provider,
      txn.returnTo,
      clear,
    );
  login.usedStates.set(state, true);
  const client = login.loginClient(txn.provider);
  if (client === null)
    return fail(
      login,
      503,
      "idp_unavailable",
      "The identity provider is not reachable right now. Please try again shortly.",
      "provider not ready",
      txn.provider,
      txn.returnTo,
      clear,
    );
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
        400,
        "acr_not_met",
        "The identity provider did not confirm the stronger sign-in this page needs.",
        "the ID token's acr is not one of the acr_values asked for",
        txn.provider,
        null,
        clear,
      );
    const session = await buildSession(login, txn.provider, tokens, null);
    const setCookies = [...clear, ...(await login.store.create(session, cookies, login.nowSeconds()))];
    const origin = login.loginOrigins.get(txn.provider) ?? login.defaultOrigin;
    login.events?.loginCompleted(txn.provider);
    return { kind: "redirect", location: login.redirects.resolve(txn.returnTo, origin) ?? `${origin}/`, setCookies };
  } catch (error) {
    return failedExchange(login, error, txn, clear);
  }
}

/** The code exchange or the session's storage threw: which failure the browser sees. */
function failedExchange(
  login: BrowserLogin,
  error: unknown,
  txn: LoginTransaction,
  clear: readonly string[],
): CallbackOutcome {
  const { provider, returnTo } = txn;
  if (error instanceof LoginError) {
    if (error.code === "idp_error")
      return fail(
        login,
        400,
        "idp_error",
        `The identity provider did not sign you in${error.idpError ? ` (${error.idpError})` : ""}.`,
        error.message,
        provider,
        returnTo,
        clear,
      );
    if (error.code === "token_endpoint_unavailable")
      return fail(
        login,
        503,
        error.code,
        "The identity provider is not reachable right now. Please try again shortly.",
        error.message,
        provider,
        returnTo,
        clear,
      );
    if (error.code === "token_endpoint_error")
      return fail(
        login,
        502,
        error.code,
        "The identity provider refused to complete the sign-in.",
        error.message,
        provider,
        returnTo,
        clear,
      );
    return fail(
      login,
      400,
      error.code,
      "The sign-in response could not be accepted. Please try again.",
      error.message,
      provider,
      returnTo,
      clear,
    );
  }
  if (error instanceof SessionStoreUnavailableError)
    return fail(
      login,
      503,
      "session_store_unavailable",
      "Sessions cannot be stored right now. Please try again shortly.",
      error.message,
      provider,
      returnTo,
      clear,
    );
  if (error instanceof SessionTooLargeError)
    return fail(
      login,
      502,
      "session_too_large",
      "Your identity is too large to keep in a session cookie.",
      error.message,
      provider,
      null,
      clear,
    );
  return fail(
    login,
    503,
    "internal_error",
    "The sign-in could not be completed. Please try again.",
    describeUnexpected(error),
    provider,
    returnTo,
    clear,
  );
}

/** One failed callback, counted once; `retry` is where the error page's "Try again" link goes (null: none). */
function fail(
  login: BrowserLogin,
  status: 400 | 502 | 503,
  reason: string,
  message: string,
  detail: string,
  provider: string | null,
  retry: string | null,
  setCookies: readonly string[] = [],
): CallbackOutcome {
  login.events?.loginFailed(provider, reason);
  return { kind: "error", status, reason, message, retry, setCookies, detail };
}
