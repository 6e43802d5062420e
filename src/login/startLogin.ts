// Starting a login: a 302 to the provider's authorization endpoint with a per-login transaction
// cookie. Either the Check path starts one (a browser without a usable session, or a step-up), or
// the page asks for one explicitly at `/oauth2/start?rd=…`.
import type { CodeOn } from "../errors/ErrorCode.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";

/** What a step-up login asks the IdP for (from a route's acr / max_age requirement, and its scopes). */
export interface StepUp {
  readonly acrValues: readonly string[] | null;
  readonly maxAge: number | null;
  /** Incremental consent (core/planConsentLogin): scopes to add to the session's, which it must then carry. */
  readonly consent?: ConsentScopes;
}

export interface ConsentScopes {
  /** The route's scopes the session lacks: asked for, recorded in the transaction, checked on the callback. */
  readonly add: readonly string[];
  /** The scopes the session already holds: asked for again, so that the new session drops none. */
  readonly keep: readonly string[];
  /** The route's step-up fails too: the IdP must authenticate again (prompt=login), not only consent. */
  readonly stepUp: boolean;
}

export type LoginStart =
  | { readonly kind: "redirect"; readonly location: string; readonly setCookies: readonly string[] }
  | { readonly kind: "unavailable" };

/** A login for the page the browser asked for (`target`, from the Check request). */
export async function startLogin(
  login: BrowserLogin,
  target: { scheme: string; host: string; path: string },
  provider: string,
  cookies: ReadonlyMap<string, string>,
  stepUp?: StepUp,
): Promise<LoginStart> {
  const origin = login.loginOrigins.get(provider) ?? login.defaultOrigin;
  // The page asked for, on the login origin or an allowed origin with that host name; the login
  // origin's root otherwise. The host is the client's :authority without its port, so it only
  // picks among configured origins and never becomes one by itself.
  const base = [origin, ...login.config.allowedRedirectOrigins].find(
    (candidate) => hostnameOf(candidate) === target.host,
  );
  const path = target.path.startsWith("/") ? target.path : "/";
  const returnTo = (base === undefined ? null : login.redirects.resolve(path, base)) ?? `${origin}/`;
  return begin(login, provider, returnTo, cookies, stepUp);
}

/** `/oauth2/start?rd=…`: a login the page asks for explicitly; rd must pass the redirect policy. */
export async function startLoginAt(
  login: BrowserLogin,
  rd: string | null,
  cookies: ReadonlyMap<string, string>,
): Promise<LoginStart | { readonly kind: "refused"; readonly reason: CodeOn<"start"> }> {
  const provider = login.loginProviders[0]?.name;
  if (provider === undefined) return { kind: "refused", reason: "login_not_configured" };
  const origin = login.loginOrigins.get(provider) as string;
  const returnTo = login.redirects.resolve(rd ?? "/", origin);
  if (returnTo === null) return { kind: "refused", reason: "redirect_not_allowed" };
  return begin(login, provider, returnTo, cookies);
}

async function begin(
  login: BrowserLogin,
  provider: string,
  returnTo: string,
  cookies: ReadonlyMap<string, string>,
  stepUp?: StepUp,
): Promise<LoginStart> {
  const client = login.loginClient(provider);
  if (client === null) return { kind: "unavailable" };
  const params: Parameters<typeof client.begin>[0] = { returnTo };
  if (stepUp?.acrValues) params.acrValues = stepUp.acrValues;
  if (stepUp?.maxAge !== null && stepUp?.maxAge !== undefined) params.maxAge = stepUp.maxAge;
  const consent = stepUp?.consent;
  if (consent !== undefined) params.scopes = { add: consent.add, keep: consent.keep };
  // A step-up must really authenticate again, not reuse the IdP session that fell short; a consent
  // alone needs no new sign-in (the IdP asks the person about the scopes as it sees fit).
  if (stepUp !== undefined && (consent === undefined || consent.stepUp)) params.prompt = "login";
  const { url, transaction } = await client.begin(params);
  const setCookies = login.loginCookies.issue(transaction, cookies, login.nowSeconds());
  login.events?.loginStarted(provider, stepUp === undefined ? "ok" : consent !== undefined ? "consent" : "step_up");
  return { kind: "redirect", location: url, setCookies };
}

function hostnameOf(origin: string): string {
  return new URL(origin).hostname.replace(/^\[|\]$/g, "").toLowerCase();
}
