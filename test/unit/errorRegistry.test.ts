// The error registry is the one table of what every HTTP surface answers: each code has one status,
// a public description fit for a client to read, and the surfaces that answer it; the typed subsets
// (denials, token and login errors) come from it; docs/errors.md is generated from it and never drifts.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ERROR_CODES,
  codesOn,
  codesRaisedBy,
  type ErrorCode,
  type LoginErrorCode,
  type TokenErrorCode,
} from "../../src/errors/ErrorCode.ts";
import { describeError } from "../../src/errors/describeError.ts";
import { renderErrorJson } from "../../src/errors/renderErrorJson.ts";
import { renderErrorPage } from "../../src/errors/renderErrorPage.ts";
import { renderErrorReference } from "../../src/errors/renderErrorReference.ts";
import { ERROR_REFERENCE_PATH } from "../../src/errors/writeErrorReference.ts";

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

describe("error registry", () => {
  it("every code has exactly one status and a public description", () => {
    for (const code of codes) {
      const spec = ERROR_CODES[code];
      expect([302, 400, 401, 403, 404, 405, 409, 502, 503], code).toContain(spec.status);
      // A clause a JSON error_description carries as is and a page turns into a sentence.
      expect(spec.description, code).toMatch(/^[a-z][^\n"\\]*[A-Za-z]$/);
      expect(spec.when.length, code).toBeGreaterThan(0);
    }
  });

  it("every code is stable snake_case and answered on at least one surface, each named once", () => {
    for (const code of codes) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(ERROR_CODES[code].surfaces.length, code).toBeGreaterThan(0);
      expect(new Set(ERROR_CODES[code].surfaces).size, code).toBe(ERROR_CODES[code].surfaces.length);
    }
  });

  it("a Check denial with an OAuth error is a 401 or 403 that WWW-Authenticate can carry (RFC 6750, RFC 9470, RFC 9449)", () => {
    for (const code of codesOn("check")) {
      const { status, oauthError } = ERROR_CODES[code];
      if (oauthError === undefined) continue;
      if (status === 401)
        expect(
          ["invalid_token", "insufficient_user_authentication", "invalid_dpop_proof", "use_dpop_nonce"],
          code,
        ).toContain(oauthError);
      else expect([status, oauthError], code).toEqual([403, "insufficient_scope"]);
    }
  });

  it("every back-channel logout answer carries an OAuth error, as the spec's error response needs", () => {
    for (const code of codesOn("backchannel_logout")) expect(ERROR_CODES[code].oauthError, code).toBeDefined();
  });

  it("token verification errors are Check denials, and login client errors are callback answers", () => {
    const token: readonly TokenErrorCode[] = codesRaisedBy("token verification");
    const login: readonly LoginErrorCode[] = codesRaisedBy("login client");
    expect(token).toContain("token_expired");
    expect(login).toContain("invalid_grant");
    for (const code of token) expect(codesOn("check") as readonly string[], code).toContain(code);
    for (const code of login) expect(codesOn("callback") as readonly string[], code).toContain(code);
  });

  it("docs/errors.md is generated from the registry (run `node src/errors/writeErrorReference.ts` after a change)", () => {
    expect(readFileSync(ERROR_REFERENCE_PATH, "utf8")).toBe(renderErrorReference());
  });
});

describe("error answers", () => {
  it("a page shows the code's description as a sentence, under the surface's title, with its status", () => {
    const page = renderErrorPage("callback_replayed", "callback", { link: { href: "/a?b=1&c=2", text: "Try again" } });
    expect(page.status).toBe(400);
    expect(page.body).toContain("<h1>Sign-in failed</h1>");
    expect(page.body).toContain("<p>This sign-in attempt was already used; please try again.</p>");
    expect(page.body).toContain('<a href="/a?b=1&#38;c=2">Try again</a>');
    expect(renderErrorPage("idp_unavailable", "start").body).toContain("<h1>Sign-in unavailable</h1>");
    expect(renderErrorPage("redirect_not_allowed", "sign_out").body).toContain("<h1>Sign-out refused</h1>");
    expect(renderErrorPage("route_not_found", "check").body).toContain("<h1>Access denied</h1>");
  });

  it("a page's public note (the IdP's OAuth error) is shown escaped", () => {
    const page = renderErrorPage("idp_error", "callback", { note: "<b>access_denied</b>" });
    expect(page.body).toContain("The identity provider did not sign you in (&#60;b&#62;access_denied&#60;/b&#62;).");
  });

  it("a JSON answer names the OAuth error where the code has one, else the code", () => {
    expect(renderErrorJson("logout_unavailable")).toEqual({
      status: 503,
      body: JSON.stringify({
        error: "temporarily_unavailable",
        error_description: "the logout could not be recorded; retry later",
      }),
    });
    expect(JSON.parse(renderErrorJson("not_found").body)).toEqual({
      error: "not_found",
      error_description: "no such endpoint",
    });
  });
});

describe("describing an error for the log", () => {
  it("names the class and stable code, never the message (it may quote a token)", () => {
    const leaky = Object.assign(new TypeError("bad input eyJhbGciOiJSUzI1NiJ9.e30.sig"), { code: "ERR_X" });
    expect(describeError(leaky)).toBe("TypeError (ERR_X)");
    expect(describeError(new RangeError("secret-value"))).toBe("RangeError");
    expect(describeError("a thrown string with a secret")).toBe("non-error fault");
  });
});
