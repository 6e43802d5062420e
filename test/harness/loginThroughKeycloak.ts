// Signs a user in through a stack whose provider is a live Keycloak, the way a person would: the
// browser opens a protected page on the Envoy origin, is sent to Keycloak's login page, logs in
// there (test/harness/loginAtKeycloak.ts) and lands back on the page it asked for.

import type { Page } from "playwright-core";
import { loginAtKeycloak } from "./loginAtKeycloak.ts";
import type { KeycloakLogin, KeycloakLoginSteps } from "./loginAtKeycloak.ts";

/** `origin` is the stack's https origin, `path` the page to open; the browser must have no Portcullis session. */
export async function loginThroughKeycloak(
  page: Page,
  origin: string,
  keycloakUrl: string,
  path: string,
  login: KeycloakLogin,
): Promise<KeycloakLoginSteps> {
  const target = new URL(path, origin).href;
  await page.goto(target);
  const steps = await loginAtKeycloak(page, keycloakUrl, login);
  await page.waitForURL((url) => url.href === target, { waitUntil: "domcontentloaded" });
  return steps;
}
