// The auth listener answers every error with a registry code: the status, the page or JSON body and
// the logged and counted reason all come from src/errors/ErrorCode.ts, on every endpoint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode } from "../../src/errors/ErrorCode.ts";
import { renderErrorPage, type PageSurface } from "../../src/errors/renderErrorPage.ts";
import { startAuthServer, type AuthServer } from "../../src/http/startAuthServer.ts";
import { createBrowserLogin } from "../../src/login/createBrowserLogin.ts";
import { browserLoginConfig } from "../harness/browserLoginConfig.ts";

const APP = "https://app.example.com";
const failedLogins: string[] = [];
let server: AuthServer;
let clientFault = false;

beforeAll(async () => {
  const config = browserLoginConfig();
  const login = createBrowserLogin({
    session: config.session,
    providers: Object.values(config.providers),
    // The provider is never ready here, or its client fails in a way no step expects.
    loginClient: () => {
      if (clientFault) throw new TypeError("a library message quoting secret-secret");
      return null;
    },
    verifyAccessToken: async () => ({ ok: false, code: "signature_invalid", detail: "unused" }),
    events: {
      loginStarted: () => undefined,
      loginCompleted: () => undefined,
      loginFailed: (_provider, reason) => failedLogins.push(reason),
      refreshed: () => undefined,
    },
  });
  server = await startAuthServer({ host: "127.0.0.1", port: 0, login: () => login });
});

afterAll(() => server.close());

async function request(path: string, init: RequestInit = {}) {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { redirect: "manual", ...init });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function expectPage(res: { status: number; body: string }, code: ErrorCode, surface: PageSurface): void {
  expect(res.status).toBe(ERROR_CODES[code].status);
  expect(res.body).toBe(renderErrorPage(code, surface).body);
}

describe("the callback", () => {
  it("answers state_mismatch with 400 and the registry's description, and counts the code", async () => {
    const res = await request("/oauth2/callback?code=c&state=unknown-state");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.body).toContain("<h1>Sign-in failed</h1>");
    expect(res.body).toContain("This sign-in attempt is unknown or has expired; please try again.");
    expect(failedLogins.at(-1)).toBe("state_mismatch");
  });

  it("answers a callback without state as state_missing, and one with only an IdP error as idp_error", async () => {
    const missing = await request("/oauth2/callback?code=c");
    expect(missing.status).toBe(ERROR_CODES.state_missing.status);
    expect(missing.body).toContain("This sign-in link is incomplete or has expired.");
    expect(failedLogins.at(-1)).toBe("state_missing");
    const cancelled = await request("/oauth2/callback?error=access_denied");
    expect(cancelled.status).toBe(ERROR_CODES.idp_error.status);
    expect(cancelled.body).toContain("The identity provider did not sign you in.");
    expect(failedLogins.at(-1)).toBe("idp_error");
  });
});

describe("/oauth2/start", () => {
  it("answers a return address off the allowed origins with redirect_not_allowed", async () => {
    expectPage(await request("/oauth2/start?rd=https://evil.example/"), "redirect_not_allowed", "start");
  });

  it("answers idp_unavailable while the provider is not ready", async () => {
    const res = await request("/oauth2/start?rd=/home");
    expectPage(res, "idp_unavailable", "start");
    expect(res.body).toContain("<h1>Sign-in unavailable</h1>");
  });

  it("answers a fault no step expected with internal_error, without the fault's text", async () => {
    clientFault = true;
    try {
      const res = await request("/oauth2/start?rd=/home");
      expectPage(res, "internal_error", "auth_listener");
      expect(res.body).not.toContain("secret");
    } finally {
      clientFault = false;
    }
  });
});

describe("sign-out", () => {
  it("refuses a POST without a trusted Origin with signout_origin_untrusted (403)", async () => {
    const res = await request("/oauth2/sign_out", { method: "POST" });
    expectPage(res, "signout_origin_untrusted", "sign_out");
    expect(res.status).toBe(403);
  });

  it("refuses a POST whose body is not a form with signout_form_unreadable", async () => {
    const res = await request("/oauth2/sign_out", {
      method: "POST",
      headers: { origin: APP, "content-type": "application/json" },
      body: "{}",
    });
    expectPage(res, "signout_form_unreadable", "sign_out");
  });

  it("refuses a return address off the allowed origins with redirect_not_allowed", async () => {
    const res = await request("/oauth2/sign_out", {
      method: "POST",
      headers: { origin: APP, "content-type": "application/x-www-form-urlencoded" },
      body: "rd=https%3A%2F%2Fevil.example%2F",
    });
    expectPage(res, "redirect_not_allowed", "sign_out");
    expect(res.body).toContain("<h1>Sign-out refused</h1>");
  });
});

describe("back-channel logout and the rest of the listener", () => {
  const form = (body: string): RequestInit => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body,
  });

  it("answers a POST without one logout_token with invalid_request (logout_request_invalid)", async () => {
    const res = await request("/oauth2/backchannel_logout", form(""));
    expect(res.status).toBe(400);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(JSON.parse(res.body)).toEqual({
      error: "invalid_request",
      error_description: ERROR_CODES.logout_request_invalid.description,
    });
  });

  it("answers a token it cannot accept with invalid_request (logout_token_invalid)", async () => {
    const res = await request("/oauth2/backchannel_logout", form("logout_token=a.b.c"));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: "invalid_request",
      error_description: "the logout token was not accepted",
    });
  });

  it("answers an unknown path with not_found and a wrong method with method_not_allowed and Allow", async () => {
    const missing = await request("/oauth2/elsewhere");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: "not_found", error_description: "no such endpoint" });
    const wrong = await request("/oauth2/callback", { method: "POST" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET");
    expect(JSON.parse(wrong.body).error).toBe("method_not_allowed");
  });
});
