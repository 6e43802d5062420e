// Signs a demo user in on the dev IdP's login page open in a Playwright Page: fills user name and
// password, sets the second-factor box, submits, and waits until the browser has left the page.
// A refused login throws with the page's message, so a test fails at the step that went wrong.

import type { Page } from "playwright-core";
import { LOGIN_FIELDS } from "../../src/demo/startDevIdp.ts";

export interface BrowserLogin {
  readonly user: string;
  /** Default: the user name (the demo users' password). */
  readonly password?: string;
  /** true ticks, false unticks "Use a second factor"; undefined leaves it as the page set it (pre-ticked on a step-up). */
  readonly secondFactor?: boolean;
  /** Default: the page's own default timeout. */
  readonly timeoutMs?: number;
}

/** Returns the URL the browser landed on after the login (the client's redirect_uri, or beyond). */
export async function loginInBrowser(page: Page, login: BrowserLogin): Promise<string> {
  const timeout = login.timeoutMs;
  const form = page.locator("#login-form");
  try {
    await form.waitFor({ state: "visible", ...(timeout === undefined ? {} : { timeout }) });
  } catch (error) {
    throw new Error(`the dev IdP's login page did not show (the page is at ${page.url()})`, { cause: error });
  }
  await form.locator(`input[name="${LOGIN_FIELDS.login}"]`).fill(login.user);
  await form.locator(`input[name="${LOGIN_FIELDS.password}"]`).fill(login.password ?? login.user);
  const box = form.locator(`input[name="${LOGIN_FIELDS.secondFactor}"]`);
  if (login.secondFactor === true) await box.check();
  if (login.secondFactor === false) {
    // The browser itself would refuse to submit: say so instead of waiting for a navigation.
    if ((await box.getAttribute("required")) !== null)
      throw new Error("the login page requires the second factor (a step-up was asked for)");
    await box.uncheck();
  }
  const loginUrl = page.url();
  await Promise.all([
    page.waitForURL((url) => url.href !== loginUrl, {
      waitUntil: "commit",
      ...(timeout === undefined ? {} : { timeout }),
    }),
    form.locator("#sign-in").click(),
  ]);
  await page.waitForLoadState("domcontentloaded");
  const refusal = page.locator("#login-error");
  if ((await refusal.count()) > 0)
    throw new Error(`the dev IdP refused the login of ${login.user}: ${(await refusal.textContent())?.trim()}`);
  return page.url();
}
