// The callback page may name the IdP's own OAuth error only when the IdP refused the sign-in in its
// authorization response (`error=access_denied`: the user cancelled). A refusal from the token
// endpoint (`invalid_client`, `invalid_grant`, `server_error`) is the operator's business: the page
// shows the registry's description alone, and the code goes to the log.
import { describe, expect, it } from "vitest";
import { ERROR_CODES, type LoginErrorCode } from "../../src/errors/ErrorCode.ts";
import { renderErrorPage } from "../../src/errors/renderErrorPage.ts";
import { completeLogin } from "../../src/login/completeLogin.ts";
import { createBrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { parseSessionCookies } from "../../src/login/parseSessionCookies.ts";
import { startLoginAt } from "../../src/login/startLogin.ts";
import { LoginError } from "../../src/oidc/LoginError.ts";
import type { LoginTransaction } from "../../src/session/LoginTransaction.ts";
import { browserLoginConfig } from "../harness/browserLoginConfig.ts";

/** A callback whose code exchange fails with `failure`, and the page the browser gets for it. */
async function failedCallback(failure: LoginError) {
  const config = browserLoginConfig();
  const login = createBrowserLogin({
    session: config.session,
    providers: Object.values(config.providers),
    loginClient: () => ({
      async begin(params) {
        const transaction: LoginTransaction = {
          state: "s".repeat(43),
          nonce: "n",
          codeVerifier: "v".repeat(43),
          returnTo: params.returnTo,
          provider: "corp",
          createdAt: Math.floor(Date.now() / 1000),
        };
        return { url: "https://idp.example.com/authorize", transaction };
      },
      complete: async () => {
        throw failure;
      },
      refresh: async () => {
        throw failure;
      },
      endSessionUrl: () => null,
    }),
    verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
  });
  const started = await startLoginAt(login, "/home", new Map());
  if (started.kind !== "redirect") throw new Error(`no login started: ${started.kind}`);
  const txnCookie = started.setCookies[0]!.split(";")[0]!;
  const outcome = await completeLogin(
    login,
    new URLSearchParams({ code: "c", state: "s".repeat(43) }),
    parseSessionCookies(txnCookie),
  );
  if (outcome.kind !== "error") throw new Error("the callback did not fail");
  const page = renderErrorPage(outcome.reason, "callback", {
    note: outcome.note,
    ...(outcome.retry === null ? {} : { link: { href: outcome.retry, text: "Try again" } }),
  });
  return { outcome, page: page.body };
}

describe("the callback page's note", () => {
  it("names the IdP's error when the IdP refused the sign-in in its authorization response", async () => {
    const { outcome, page } = await failedCallback(
      new LoginError("idp_error", "the IdP answered the authorization request with access_denied", {
        idpError: "access_denied",
      }),
    );
    expect(outcome.reason).toBe("idp_error");
    expect(page).toContain("The identity provider did not sign you in (access_denied).");
  });

  it.each<[LoginErrorCode, string]>([
    ["token_endpoint_error", "invalid_client"],
    ["invalid_grant", "invalid_grant"],
    ["token_endpoint_unavailable", "server_error"],
  ])("never names the token endpoint's error: %s (%s) shows the description alone", async (code, idpError) => {
    const { outcome, page } = await failedCallback(
      new LoginError(code, `token endpoint answered ${idpError}`, { idpError }),
    );
    expect(outcome).toMatchObject({ reason: code, status: ERROR_CODES[code].status, note: null });
    expect(page).not.toContain(idpError);
    expect(outcome.detail).toContain(idpError); // the log keeps it
  });
});
