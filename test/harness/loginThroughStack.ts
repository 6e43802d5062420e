// Signs a demo user in through a stack the way a person would: the browser opens a protected page
// on the Envoy origin, is sent to the dev IdP's login page, logs in, passes /oauth2/callback and
// lands back on the page it asked for. Returns what the tests check about that trip.

import type { Page, Response } from "playwright-core";
import type { BrowserLogin } from "./loginInBrowser.ts";
import { loginInBrowser } from "./loginInBrowser.ts";

export interface StackLogin {
  /** The 302 that sent the browser to the IdP (the first answer to the page asked for). */
  readonly loginRedirect: Response;
  /** The callback URL the IdP sent the browser to (it holds the code and the state). */
  readonly callbackUrl: string;
  /** The Set-Cookie values of the callback's answer, as the browser got them. */
  readonly callbackSetCookies: readonly string[];
}

/**
 * `origin` is the stack's https origin, `path` the page to open (with its query); the browser must
 * not have a Portcullis session yet (an IdP session is fine only if `login` is not needed: then use
 * page.goto yourself).
 */
export async function loginThroughStack(
  page: Page,
  origin: string,
  path: string,
  login: BrowserLogin,
): Promise<StackLogin> {
  const target = new URL(path, origin).href;
  const redirect = page.waitForResponse((res) => res.url() === target && res.request().isNavigationRequest());
  const callback = page.waitForResponse((res) => new URL(res.url()).pathname === "/oauth2/callback");
  await page.goto(target);
  const loginRedirect = await redirect;
  if (loginRedirect.status() !== 302)
    throw new Error(`${path} answered ${loginRedirect.status()}, not a 302 to the IdP`);
  await loginInBrowser(page, login);
  const callbackResponse = await callback;
  await page.waitForURL((url) => url.href === target, { waitUntil: "domcontentloaded" });
  const callbackSetCookies = (await callbackResponse.headersArray())
    .filter((h) => h.name.toLowerCase() === "set-cookie")
    .map((h) => h.value);
  return { loginRedirect, callbackUrl: callbackResponse.url(), callbackSetCookies };
}
