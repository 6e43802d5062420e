// The dev IdP's login screen: user name, password, and a box for a (simulated) second factor that
// raises the login to LOA 2. Field names are a contract for browser tests (LOGIN_FIELDS).

import { escapeHtml, renderDevIdpPage } from "./renderDevIdpPage.ts";

export const LOGIN_FIELDS = {
  login: "login",
  password: "password",
  /** A checkbox; ticked, it sends the value "otp". */
  secondFactor: "second_factor",
} as const;

/** optional: unticked; suggested: pre-ticked; required: pre-ticked and the login fails without it. */
export type SecondFactorDemand = "optional" | "suggested" | "required";

export interface LoginPageInput {
  readonly uid: string;
  readonly clientId: string;
  readonly loginHint: string;
  readonly secondFactor: SecondFactorDemand;
  readonly error?: string;
}

export function renderLoginPage(input: LoginPageInput): string {
  const uid = encodeURIComponent(input.uid);
  const ticked = input.secondFactor === "optional" ? "" : " checked";
  const required = input.secondFactor === "required" ? " required" : "";
  const body = `<h1>Sign in</h1>
<p>to <strong>${escapeHtml(input.clientId)}</strong></p>
${input.error === undefined ? "" : `<p class="error" role="alert" id="login-error">${escapeHtml(input.error)}</p>`}
${input.secondFactor === "required" ? `<p class="notice" id="step-up-notice">This application asks for a second factor.</p>` : ""}
<form method="post" action="/interaction/${uid}/login" id="login-form">
<label for="login">User name</label>
<input type="text" id="login" name="${LOGIN_FIELDS.login}" autocomplete="username" autocapitalize="off" required autofocus value="${escapeHtml(input.loginHint)}">
<label for="password">Password</label>
<input type="password" id="password" name="${LOGIN_FIELDS.password}" autocomplete="current-password" required>
<label class="check"><input type="checkbox" id="second-factor" name="${LOGIN_FIELDS.secondFactor}" value="otp"${ticked}${required}> Use a second factor (one-time code)</label>
<button type="submit" id="sign-in">Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit" class="secondary" id="cancel">Cancel</button></form>
<p class="hint">Demo users: <code>alice</code> (admin) and <code>bob</code>. The password is the user name. The second factor is simulated: ticking the box is enough.</p>`;
  return renderDevIdpPage("Sign in", body);
}
