// Signs a user in on Keycloak's own login pages open in a Playwright Page: the user name and
// password form, then, when Keycloak asks for it (a step-up to the one-time-code level), the OTP
// form with a code computed from the user's TOTP secret. Waits until the browser has left Keycloak;
// a page that shows Keycloak's error message throws with it, so a test fails at the step that broke.

import type { Page } from "playwright-core";
import { totpCode } from "./totpCode.ts";

export interface KeycloakLogin {
  readonly username: string;
  readonly password: string;
  /** The TOTP secret's bytes; needed only when Keycloak asks for a one-time code. */
  readonly totpKey?: Buffer;
  readonly timeoutMs?: number;
}

export interface KeycloakLoginSteps {
  /** Whether Keycloak showed its user name and password form. */
  readonly passwordAsked: boolean;
  /** Whether Keycloak showed its one-time-code form. */
  readonly otpAsked: boolean;
  /** Where the browser landed once it left Keycloak. */
  readonly landedOn: string;
}

const PASSWORD_FORM = "#kc-form-login";
const OTP_FORM = "#kc-otp-login-form";
const SUBMIT = "#kc-login";

/** `page` shows a Keycloak page (the browser was sent there); `keycloakOrigin` is Keycloak's URL origin. */
export async function loginAtKeycloak(
  page: Page,
  keycloakOrigin: string,
  login: KeycloakLogin,
): Promise<KeycloakLoginSteps> {
  const timeout = login.timeoutMs ?? 30_000;
  const onKeycloak = () => new URL(page.url()).origin === keycloakOrigin;
  let passwordAsked = false;
  let otpAsked = false;
  const deadline = Date.now() + timeout;
  while (onKeycloak()) {
    if (Date.now() > deadline) throw new Error(`still on Keycloak after ${timeout} ms (at ${page.url()})`);
    const form = page.locator(`${PASSWORD_FORM}, ${OTP_FORM}`);
    try {
      await form.first().waitFor({ state: "visible", timeout: Math.max(1, deadline - Date.now()) });
    } catch (error) {
      throw new Error(
        `Keycloak showed neither its login nor its one-time-code form (at ${page.url()}): ${await keycloakMessage(page)}`,
        { cause: error },
      );
    }
    const errorText = await keycloakError(page);
    if (errorText !== null) throw new Error(`Keycloak refused the login of ${login.username}: ${errorText}`);
    if (await page.locator(OTP_FORM).isVisible()) {
      if (login.totpKey === undefined)
        throw new Error(`Keycloak asked ${login.username} for a one-time code, and the test has no TOTP secret`);
      otpAsked = true;
      await page.locator(`${OTP_FORM} input[name="otp"]`).fill(totpCode(login.totpKey));
    } else {
      passwordAsked = true;
      const username = page.locator(`${PASSWORD_FORM} input[name="username"]`);
      // A re-authentication (prompt=login) may show the user's name without a field for it.
      if ((await username.count()) > 0 && (await username.isEditable())) await username.fill(login.username);
      await page.locator(`${PASSWORD_FORM} input[name="password"]`).fill(login.password);
    }
    // Keycloak may answer a POST with a page at the same URL (the next form, or an error): wait for
    // the new document, not for a new URL.
    await Promise.all([
      page.waitForEvent("framenavigated", {
        predicate: (frame) => frame === page.mainFrame(),
        timeout: Math.max(1, deadline - Date.now()),
      }),
      page.locator(SUBMIT).click(),
    ]);
    await page.waitForLoadState("domcontentloaded");
  }
  return { passwordAsked, otpAsked, landedOn: page.url() };
}

/** The error Keycloak shows above a form (wrong password, wrong code), or null. */
async function keycloakError(page: Page): Promise<string | null> {
  // Errors only: a re-authentication (prompt=login) shows an info notice in the same place.
  const alert = page.locator("#input-error, #input-error-otp-code, .pf-m-danger, .alert-error");
  for (const element of await alert.all()) {
    if (await element.isVisible()) return ((await element.textContent()) ?? "").trim();
  }
  return null;
}

async function keycloakMessage(page: Page): Promise<string> {
  return (
    (await page
      .locator("body")
      .textContent()
      .catch(() => "")) ?? ""
  )
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}
