// Token exchange (RFC 8693) against a scripted token endpoint and a manual clock: the form posted,
// the answer judged (token, refusal, outage), the exchanged token reused until shortly before it
// expires and never past the caller's token, and identical concurrent exchanges made once.
import { describe, expect, it } from "vitest";
import {
  createRouteTokenExchange,
  type ExchangeConfig,
  type ExchangeResult,
} from "../../src/oidc/createTokenExchange.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { ENDPOINT, farExp, routeWith, scriptedEndpoint, T0, tokenAnswer } from "../harness/tokenExchangeEndpoint.ts";

function exchangeWith(config: ExchangeConfig, endpoint: ReturnType<typeof scriptedEndpoint>) {
  const clock = createManualClock(T0);
  const results: ExchangeResult[] = [];
  const exchange = createRouteTokenExchange(config, {
    provider: () => ({ tokenEndpoint: ENDPOINT, clientId: "portcullis", clientSecret: "s3cret" }),
    clock,
    fetch: endpoint.fetch,
    observe: (_provider, result) => results.push(result),
  });
  return { exchange, clock, results };
}

describe("the token exchange request", () => {
  it("posts the RFC 8693 form with the subject token, audience, resource and scope, authenticated with client_secret_basic", async () => {
    const endpoint = scriptedEndpoint(() => tokenAnswer("new-token"));
    const config = routeWith({
      audience: ["orders-api"],
      resource: ["https://orders.example.com/"],
      scopes: ["orders.read", "orders.write"],
    }).exchange!;
    const { exchange } = exchangeWith(config, endpoint);
    expect(await exchange.exchange("caller-token", "corp", farExp)).toEqual({
      kind: "token",
      token: "new-token",
      fromCache: false,
    });
    const [call] = endpoint.posted;
    expect(call?.url).toBe(ENDPOINT);
    expect(Object.fromEntries(call!.form)).toEqual({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: "caller-token",
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      requested_token_type: "urn:ietf:params:oauth:token-type:access_token",
      audience: "orders-api",
      resource: "https://orders.example.com/",
      scope: "orders.read orders.write",
    });
    expect(call?.authorization).toBe(`Basic ${Buffer.from("portcullis:s3cret").toString("base64")}`);
  });

  it("sends every audience, and the route's own client in the body with client_secret_post", async () => {
    const endpoint = scriptedEndpoint(() => tokenAnswer("new-token"));
    const config = routeWith({
      audience: ["a", "b"],
      clientId: "exchanger",
      clientSecret: "x y",
      authMethod: "client_secret_post",
    }).exchange!;
    await exchangeWith(config, endpoint).exchange.exchange("caller-token", "corp", farExp);
    const [call] = endpoint.posted;
    expect(call?.form.getAll("audience")).toEqual(["a", "b"]);
    expect(call?.form.get("client_id")).toBe("exchanger");
    expect(call?.form.get("client_secret")).toBe("x y");
    expect(call?.authorization).toBeNull();
  });
});

describe("the token exchange answer", () => {
  const judge = async (answer: Response | Error, provider = "corp") => {
    const { exchange, results } = exchangeWith(
      routeWith({ audience: ["orders-api"] }).exchange!,
      scriptedEndpoint(() => answer),
    );
    return { outcome: await exchange.exchange("caller-token", provider, farExp), results };
  };

  it("is a refusal for an OAuth error such as invalid_target, with the IdP's reason but no token in the detail", async () => {
    const { outcome, results } = await judge(
      Response.json(
        {
          error: "invalid_target",
          error_description: "audience not allowed for caller-token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln",
        },
        { status: 400 },
      ),
    );
    expect(outcome).toMatchObject({ kind: "refused", provider: "corp" });
    const detail = (outcome as { detail: string }).detail;
    expect(detail).toContain("HTTP 400 invalid_target");
    expect(detail).not.toContain("eyJ");
    expect(results).toEqual(["refused"]);
  });

  it("is an outage for invalid_client, a 5xx, a network error and a 200 that is not a Bearer access token", async () => {
    const cases: Array<Response | Error> = [
      Response.json({ error: "invalid_client" }, { status: 401 }),
      new Response("busy", { status: 503 }),
      Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }),
      Response.json({ access_token: "t", token_type: "DPoP", expires_in: 60 }),
      Response.json({
        access_token: "t",
        token_type: "Bearer",
        issued_token_type: "urn:ietf:params:oauth:token-type:id_token",
      }),
      Response.json({ access_token: "bad token\r\nx-evil: 1", token_type: "Bearer" }),
      new Response("<html>", { status: 200 }),
    ];
    for (const answer of cases) expect((await judge(answer)).outcome.kind, String(answer)).toBe("unavailable");
  });

  it("is an outage, within timeoutMs, when the token endpoint does not answer", async () => {
    // The call's own timeout is real time (as every outbound timeout is): the shortest one allowed.
    const silent = (async (_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason as Error)),
      )) as typeof fetch;
    const exchange = createRouteTokenExchange(routeWith({ audience: ["x"], timeoutMs: 100 }).exchange!, {
      provider: () => ({ tokenEndpoint: ENDPOINT, clientId: "portcullis", clientSecret: "s3cret" }),
      clock: createManualClock(T0),
      fetch: silent,
    });
    expect(await exchange.exchange("caller-token", "corp", farExp)).toEqual({
      kind: "unavailable",
      provider: "corp",
      detail: "POST https://idp.example.com/token timed out after 100 ms",
    });
  });

  it("refuses a caller verified by another provider than the exchange's, without calling the IdP", async () => {
    const endpoint = scriptedEndpoint(() => tokenAnswer("new-token"));
    const { exchange } = exchangeWith(routeWith({ audience: ["x"], provider: "corp" }).exchange!, endpoint);
    expect((await exchange.exchange("caller-token", "partner", farExp)).kind).toBe("refused");
    expect(endpoint.posted).toHaveLength(0);
  });
});

describe("exchanged tokens", () => {
  it("are reused for the same caller token until expiryMarginSeconds before they expire, then exchanged again", async () => {
    const endpoint = scriptedEndpoint((n) => tokenAnswer(`new-${n}`, 300));
    const { exchange, clock, results } = exchangeWith(
      routeWith({ audience: ["x"], expiryMarginSeconds: 30 }).exchange!,
      endpoint,
    );
    expect(await exchange.exchange("caller", "corp", farExp)).toMatchObject({ token: "new-1", fromCache: false });
    clock.advance(269_000);
    expect(await exchange.exchange("caller", "corp", farExp)).toMatchObject({ token: "new-1", fromCache: true });
    clock.advance(2_000);
    expect(await exchange.exchange("caller", "corp", farExp)).toMatchObject({ token: "new-2", fromCache: false });
    expect(results).toEqual(["exchanged", "cache_hit", "exchanged"]);
  });

  it("are kept apart per caller token, and never reused past the caller's token's exp", async () => {
    const endpoint = scriptedEndpoint((n) => tokenAnswer(`new-${n}`, 3600));
    const { exchange, clock } = exchangeWith(routeWith({ audience: ["x"] }).exchange!, endpoint);
    const callerExp = T0 / 1000 + 60;
    expect((await exchange.exchange("alice", "corp", callerExp)) as { token: string }).toMatchObject({
      token: "new-1",
    });
    expect((await exchange.exchange("bob", "corp", callerExp)) as { token: string }).toMatchObject({ token: "new-2" });
    clock.advance(59_999);
    expect(await exchange.exchange("alice", "corp", callerExp)).toMatchObject({ token: "new-1", fromCache: true });
    clock.advance(2);
    expect(await exchange.exchange("alice", "corp", callerExp)).toMatchObject({ token: "new-3", fromCache: false });
  });

  it("are bounded by cacheMaxEntries, the least recently used going first", async () => {
    const endpoint = scriptedEndpoint((n) => tokenAnswer(`new-${n}`));
    const { exchange } = exchangeWith(routeWith({ audience: ["x"], cacheMaxEntries: 2 }).exchange!, endpoint);
    for (const caller of ["a", "b", "c"]) await exchange.exchange(caller, "corp", farExp);
    expect((await exchange.exchange("c", "corp", farExp)).kind === "token").toBe(true);
    expect(endpoint.posted).toHaveLength(3);
    await exchange.exchange("a", "corp", farExp);
    expect(endpoint.posted).toHaveLength(4);
  });

  it("take one call for identical concurrent exchanges, and a failure is not remembered", async () => {
    const endpoint = scriptedEndpoint((n) => (n === 1 ? new Response("", { status: 502 }) : tokenAnswer(`new-${n}`)));
    const { exchange } = exchangeWith(routeWith({ audience: ["x"] }).exchange!, endpoint);
    endpoint.hold();
    const waiting = Array.from({ length: 5 }, () => exchange.exchange("caller", "corp", farExp));
    endpoint.release();
    const outcomes = await Promise.all(waiting);
    expect(endpoint.posted).toHaveLength(1);
    expect(outcomes.map((o) => o.kind)).toEqual(Array(5).fill("unavailable"));
    expect(await exchange.exchange("caller", "corp", farExp)).toMatchObject({ kind: "token", token: "new-2" });
  });
});
