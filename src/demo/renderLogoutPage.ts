// The dev IdP's RP-initiated logout screens. With an id_token_hint naming the signed-in user the
// confirmation submits itself (the RP already asked the user); without one, the user must click,
// so a third-party page cannot log people out. Also the page shown after a logout with no return URL.

import { createHash } from "node:crypto";
import { devIdpPageCsp, renderDevIdpPage } from "./renderDevIdpPage.ts";

const AUTO_CONFIRM_SCRIPT = `document.getElementById("logout-yes").click();`;
const AUTO_CONFIRM_HASH = `sha256-${createHash("sha256").update(AUTO_CONFIRM_SCRIPT).digest("base64")}`;

export interface RenderedPage {
  readonly html: string;
  readonly csp: string;
}

/** `form` is oidc-provider's hidden form (id op.logoutForm, with its xsrf field): trusted markup. */
export function renderLogoutPage(form: string, autoConfirm: boolean): RenderedPage {
  const body = `<h1>Sign out</h1>
<p>Do you want to sign out of the demo IdP?</p>
${form}
<button autofocus type="submit" form="op.logoutForm" name="logout" value="yes" id="logout-yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary" id="logout-no">No, stay signed in</button>`;
  const script = autoConfirm ? `\n<script>${AUTO_CONFIRM_SCRIPT}</script>` : "";
  return {
    html: renderDevIdpPage("Sign out", body + script),
    csp: devIdpPageCsp(autoConfirm ? [AUTO_CONFIRM_HASH] : []),
  };
}

export function renderSignedOutPage(): RenderedPage {
  return {
    html: renderDevIdpPage("Signed out", `<h1>Signed out</h1>\n<p>You are signed out of the demo IdP.</p>`),
    csp: devIdpPageCsp(),
  };
}
