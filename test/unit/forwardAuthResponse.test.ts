// Decision → the answer to nginx's auth_request subrequest, for the decisions the gate makes:
// an allow's identity headers, owned headers and final credential headers, a refreshed session's
// Set-Cookie passed through, a login redirect as 401 with the login URL, denials as the Check's;
// Envoy's http_service answer naming its removals in x-envoy-auth-headers-to-remove.
import { describe, expect, it } from "vitest";
import type { Allow } from "../../src/core/Decision.ts";
import { deny, redirectDecision } from "../../src/core/deny.ts";
import { toEnvoyAuthResponse, toForwardAuthResponse } from "../../src/transport/toForwardAuthResponse.ts";

const LOGIN_HEADER = "x-auth-request-redirect";

function allow(over: Partial<Allow> = {}): Allow {
  return {
    kind: "allow",
    route: "app",
    reason: "authenticated",
    setHeaders: [["x-user-sub", "alice"]],
    removeHeaders: ["x-user-sub", "x-user-email", "authorization"],
    ...over,
  };
}

describe("an allow", () => {
  it("is 200 with the identity headers and every owned header in x-auth-remove-headers", () => {
    const res = toForwardAuthResponse(allow(), LOGIN_HEADER);
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(["x-user-sub", "alice"]);
    expect(res.headers).toContainEqual(["x-auth-remove-headers", "x-user-sub,x-user-email,authorization"]);
  });

  it("passes a refreshed session's cookies on, each as its own Set-Cookie", () => {
    const responseHeaders = [
      ["set-cookie", "__Host-portcullis=a; Secure"],
      ["set-cookie", "__Host-portcullis.1=b; Secure"],
    ] as const;
    const res = toForwardAuthResponse(allow({ responseHeaders }), LOGIN_HEADER);
    expect(res.headers.filter(([n]) => n === "set-cookie").map(([, v]) => v)).toEqual([
      "__Host-portcullis=a; Secure",
      "__Host-portcullis.1=b; Secure",
    ]);
  });

  it("answers the upstream's final Cookie: the gate's rewrite, the client's own when untouched, none when removed", () => {
    const client = new Map([
      ["cookie", "__Host-portcullis=s; theme=dark"],
      ["authorization", "Bearer t"],
    ]);
    const rewritten = toForwardAuthResponse(
      allow({ setHeaders: [["cookie", "theme=dark"]], removeHeaders: ["authorization"] }),
      LOGIN_HEADER,
      client,
    );
    expect(rewritten.headers.filter(([n]) => n === "cookie")).toEqual([["cookie", "theme=dark"]]);
    expect(rewritten.headers.some(([n]) => n === "authorization")).toBe(false);

    const untouched = toForwardAuthResponse(allow({ setHeaders: [], removeHeaders: [] }), LOGIN_HEADER, client);
    expect(untouched.headers).toContainEqual(["cookie", "__Host-portcullis=s; theme=dark"]);
    expect(untouched.headers).toContainEqual(["authorization", "Bearer t"]);

    const removed = toForwardAuthResponse(allow({ setHeaders: [], removeHeaders: ["cookie"] }), LOGIN_HEADER, client);
    expect(removed.headers.some(([n]) => n === "cookie")).toBe(false);
  });
});

describe("a denial", () => {
  it("sends a browser to log in as 401 with the login URL and the login cookie, never a 302", () => {
    const decision = redirectDecision(
      "https://idp.example/authorize?state=s",
      ["__Host-portcullis-login.x=t; Secure"],
      {
        route: "app",
      },
    );
    const res = toForwardAuthResponse(decision, LOGIN_HEADER);
    expect(res.status).toBe(401);
    expect(res.headers).toContainEqual([LOGIN_HEADER, "https://idp.example/authorize?state=s"]);
    expect(res.headers).toContainEqual(["set-cookie", "__Host-portcullis-login.x=t; Secure"]);
    expect(res.headers.some(([n]) => n === "location")).toBe(false);
  });

  it("stays the 302 with its Location and cookie for Traefik and Caddy (no login URL header)", () => {
    const decision = redirectDecision(
      "https://idp.example/authorize?state=s",
      ["__Host-portcullis-login.x=t; Secure"],
      {
        route: "app",
      },
    );
    const res = toForwardAuthResponse(decision, null);
    expect(res.status).toBe(302);
    expect(res.headers).toEqual(decision.headers);
  });

  it.each([
    ["token_missing", 401],
    ["insufficient_scope", 403],
    ["internal_error", 503],
  ] as const)("%s keeps the Check's status, WWW-Authenticate and JSON body", (code, status) => {
    const decision = deny(code, { route: "app" });
    const res = toForwardAuthResponse(decision, LOGIN_HEADER);
    expect(res.status).toBe(status);
    expect(res.headers).toEqual(decision.headers);
    expect(res.body).toBe(decision.body);
  });
});

describe("Envoy's http_service answer", () => {
  it("names the owned headers to remove in x-envoy-auth-headers-to-remove, never one it sets (Envoy removes after setting)", () => {
    const res = toEnvoyAuthResponse(
      allow({
        setHeaders: [
          ["x-user-sub", "alice"],
          ["cookie", "theme=dark"],
        ],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers).toContainEqual(["x-user-sub", "alice"]);
    expect(res.headers).toContainEqual(["cookie", "theme=dark"]);
    expect(res.headers).toContainEqual(["x-envoy-auth-headers-to-remove", "x-user-email,authorization"]);
    expect(res.headers.map(([n]) => n)).not.toContain("x-auth-remove-headers");
  });

  it("passes a refreshed session's cookies on, and a login redirect as the 302 it is", () => {
    const responseHeaders = [["set-cookie", "__Host-portcullis=a; Secure"]] as const;
    const res = toEnvoyAuthResponse(allow({ responseHeaders }));
    expect(res.headers).toContainEqual(["set-cookie", "__Host-portcullis=a; Secure"]);
    const login = redirectDecision("https://idp.example/authorize?x=1", ["__Host-portcullis-login.1=t"], {
      route: "app",
    });
    const redirect = toEnvoyAuthResponse(login);
    expect(redirect.status).toBe(302);
    expect(redirect.headers).toContainEqual(["location", "https://idp.example/authorize?x=1"]);
  });
});
