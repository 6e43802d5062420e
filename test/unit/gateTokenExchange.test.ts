// The Gate on a route with token exchange (RFC 8693), against a scripted token endpoint: the
// exchanged token goes upstream in place of the caller's (or in the route's own header), a refused
// or failed exchange denies, a caller that fails verification costs no exchange, and a browser
// session's access token is what is exchanged.
import { describe, expect, it } from "vitest";
import type { Allow, Deny } from "../../src/core/Decision.ts";
import { Gate } from "../../src/core/Gate.ts";
import { normalizePath } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import type { SessionPort } from "../../src/login/SessionPort.ts";
import { createTokenExchange } from "../../src/oidc/createTokenExchange.ts";
import type { Session } from "../../src/session/Session.ts";
import { headerOf } from "../harness/checkOutcome.ts";
import { checkRequest } from "../harness/checkRequest.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { PLAIN_IDENTITY } from "../harness/plainIdentityConfig.ts";
import { ENDPOINT, farExp, routeWith, scriptedEndpoint, T0, tokenAnswer } from "../harness/tokenExchangeEndpoint.ts";

describe("the Gate on a route with token exchange", () => {
  const claims = { sub: "alice", exp: farExp };
  function gateWith(exchange: Record<string, unknown>, answer: (call: number) => Response | Error) {
    const route = routeWith({ audience: ["orders-api"], ...exchange });
    const endpoint = scriptedEndpoint(answer);
    const gate = new Gate({
      normalizePath,
      routes: new RouteTable([route]),
      identity: createIdentityHeaders(PLAIN_IDENTITY),
      verifier: {
        verify: async (token) =>
          token === "caller"
            ? { ok: true, provider: "corp", claims, expiresAt: farExp }
            : { ok: false, code: "signature_invalid", detail: "x" },
      },
      clock: createManualClock(T0),
      tokenExchange: createTokenExchange([route], {
        provider: () => ({ tokenEndpoint: ENDPOINT, clientId: "portcullis", clientSecret: "s3cret" }),
        clock: createManualClock(T0),
        fetch: endpoint.fetch,
      }),
    });
    return { gate, endpoint };
  }
  const request = checkRequest("/orders/1", { authorization: "Bearer caller" });

  it("sends the exchanged token upstream as Authorization: Bearer, in place of the caller's", async () => {
    const { gate } = gateWith({}, () => tokenAnswer("exchanged"));
    const allow = (await gate.decide(request)) as Allow;
    expect(allow.kind).toBe("allow");
    expect(headerOf(allow, "authorization")).toBe("Bearer exchanged");
    expect(allow.removeHeaders).not.toContain("authorization");
    expect(headerOf(allow, "x-user-sub")).toBe("alice");
  });

  it("puts it in the route's own header, and removes or keeps the caller's Authorization as configured", async () => {
    const removed = (await gateWith({ header: "x-orders-token", scheme: null }, () =>
      tokenAnswer("exchanged"),
    ).gate.decide(request)) as Allow;
    expect(headerOf(removed, "x-orders-token")).toBe("exchanged");
    expect(removed.removeHeaders).toContain("authorization");
    const kept = (await gateWith({ header: "x-orders-token", removeAuthorization: false }, () =>
      tokenAnswer("exchanged"),
    ).gate.decide(request)) as Allow;
    expect(headerOf(kept, "x-orders-token")).toBe("Bearer exchanged");
    expect(kept.removeHeaders).not.toContain("authorization");
  });

  it("denies with 403 token_exchange_refused when the IdP refuses, and 503 token_exchange_unavailable when it cannot answer", async () => {
    const refused = (await gateWith({}, () => Response.json({ error: "access_denied" }, { status: 400 })).gate.decide(
      request,
    )) as Deny;
    expect(refused).toMatchObject({ kind: "deny", status: 403, code: "token_exchange_refused", route: "orders" });
    expect(JSON.parse(refused.body)).toEqual({
      error: "token_exchange_refused",
      error_description: expect.any(String),
    });
    const down = (await gateWith({}, () => new Response("", { status: 504 })).gate.decide(request)) as Deny;
    expect(down).toMatchObject({ kind: "deny", status: 503, code: "token_exchange_unavailable" });
    expect(down.body).not.toContain("caller");
  });

  it("does not call the IdP for a caller whose token fails verification", async () => {
    const { gate, endpoint } = gateWith({}, () => tokenAnswer("exchanged"));
    const d = await gate.decide(checkRequest("/orders/1", { authorization: "Bearer forged" }));
    expect(d).toMatchObject({ kind: "deny", status: 401 });
    expect(endpoint.posted).toHaveLength(0);
  });

  it("exchanges a browser session's access token, reused no longer than that token lives", async () => {
    const route = routeWith({ audience: ["orders-api"] });
    const endpoint = scriptedEndpoint((n) => tokenAnswer(`exchanged-${n}`, 3600));
    const clock = createManualClock(T0);
    const session: Session = {
      v: 1,
      id: "s1",
      provider: "corp",
      iss: "https://idp.example.com",
      sub: "alice",
      sid: null,
      claims: { sub: "alice" },
      accessToken: "session-access-token",
      accessTokenExpiresAt: T0 / 1000 + 120,
      accessTokenIssuedAt: T0 / 1000,
      refreshToken: null,
      idToken: null,
      authTime: null,
      createdAt: T0 / 1000,
      expiresAt: T0 / 1000 + 3600,
    };
    const sessions: SessionPort = {
      cookiePrefix: "__Host-session",
      owns: (name) => name.startsWith("__Host-session"),
      parseCookies: () => new Map([["__Host-session", "sealed"]]),
      load: async () => ({ kind: "session", session, present: ["__Host-session"] }),
      freshen: async () => ({ kind: "fresh", session, setCookies: [] }),
      loginProviderFor: () => "corp",
      consentScopesOf: () => new Set(),
      startLogin: async () => ({ kind: "unavailable" }),
    };
    const gate = new Gate({
      normalizePath,
      routes: new RouteTable([route]),
      identity: createIdentityHeaders(PLAIN_IDENTITY),
      verifier: { verify: async () => ({ ok: false, code: "signature_invalid", detail: "no bearer tokens here" }) },
      sessions,
      clock,
      tokenExchange: createTokenExchange([route], {
        provider: () => ({ tokenEndpoint: ENDPOINT, clientId: "portcullis", clientSecret: "s3cret" }),
        clock,
        fetch: endpoint.fetch,
      }),
    });
    const browser = checkRequest("/orders/1", { cookie: "__Host-session=sealed", accept: "text/html" });
    const first = (await gate.decide(browser)) as Allow;
    expect(headerOf(first, "authorization")).toBe("Bearer exchanged-1");
    expect(endpoint.posted[0]?.form.get("subject_token")).toBe("session-access-token");
    expect(first.removeHeaders).toContain("cookie");
    clock.advance(119_000);
    expect(headerOf(await gate.decide(browser), "authorization")).toBe("Bearer exchanged-1");
    clock.advance(2_000);
    expect(headerOf(await gate.decide(browser), "authorization")).toBe("Bearer exchanged-2");
  });
});
