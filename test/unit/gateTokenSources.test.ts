// Routes that read the access token from elsewhere than Authorization (routes[].tokenSource): a
// named header, a cookie, a query parameter. The token is read only there, refused when sent twice,
// and never reaches the upstream: the header and cookie are removed, the query parameter named for
// removal in the answer. Routes without a source keep reading Authorization only.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { Allow } from "../../src/core/Decision.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { headerOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";

type TokenSource = NonNullable<RouteConfig["tokenSource"]>;
const NO_SOURCE: TokenSource = { header: null, cookie: null, query: null };
const route = (name: string, path: string, source: Partial<TokenSource> | undefined): RouteConfig => ({
  name,
  match: { hosts: [], path },
  auth: "required",
  providers: [],
  ...(source === undefined ? {} : { tokenSource: { ...NO_SOURCE, ...source } }),
});

const routes: RouteConfig[] = [
  route("ws", "/ws", { query: "access_token" }),
  route("legacy", "/legacy", { header: "x-api-token" }),
  route("cookie", "/cookie", { cookie: "api_token" }),
  route("api", "/api", undefined),
];
const good: VerifyOutcome = {
  ok: true,
  provider: "corp",
  claims: { sub: "alice", exp: 2_000_000_000 },
  expiresAt: 2_000_000_000,
};
const { gate } = gateOver({ routes, tokens: { good } });

describe("route token sources", () => {
  it("reads a token from the query parameter and names the parameter for removal upstream", async () => {
    const d = await gate.decide(checkRequest("/ws/chat?room=1&access_token=good"));
    expect(d).toMatchObject({ kind: "allow", reason: "authenticated", removeQueryParameters: ["access_token"] });
    expect(headerOf(d, "x-user-sub")).toBe("alice");
  });

  it("reads a percent-encoded parameter name as the same parameter", async () => {
    const d = await gate.decide(checkRequest("/ws/chat?access%5Ftoken=good"));
    expect(d).toMatchObject({ kind: "allow", removeQueryParameters: ["access_token"] });
  });

  it("refuses a query parameter sent twice as token_malformed, naming neither value", async () => {
    const d = await gate.decide(checkRequest("/ws/chat?access_token=good&access_token=other"));
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_malformed" });
    expect(JSON.stringify(d)).not.toContain("good");
  });

  it("does not read Authorization on a route whose token comes from the query", async () => {
    const d = await gate.decide(checkRequest("/ws/chat", { authorization: "Bearer good" }));
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_missing" });
  });

  it("reads a token from a named header and removes that header upstream", async () => {
    const d = (await gate.decide(checkRequest("/legacy/x", { "x-api-token": "good" }))) as Allow;
    expect(d).toMatchObject({ kind: "allow", reason: "authenticated" });
    expect(d.removeHeaders).toContain("x-api-token");
    expect(d.removeQueryParameters).toBeUndefined();
  });

  it("reads a token from a cookie and strips that cookie, keeping the others, before the upstream", async () => {
    const d = await gate.decide(checkRequest("/cookie/x", { cookie: "theme=dark; api_token=good; lang=en" }));
    expect(d).toMatchObject({ kind: "allow", reason: "authenticated" });
    expect(headerOf(d, "cookie")).toBe("theme=dark; lang=en");
  });

  it("removes the Cookie header when the token cookie was the only one", async () => {
    const d = (await gate.decide(checkRequest("/cookie/x", { cookie: "api_token=good" }))) as Allow;
    expect(d.removeHeaders).toContain("cookie");
  });

  it("refuses a token cookie sent twice as token_malformed", async () => {
    const d = await gate.decide(checkRequest("/cookie/x", { cookie: "api_token=good; api_token=good" }));
    expect(d).toMatchObject({ kind: "deny", code: "token_malformed" });
  });

  it("refuses a token with characters outside b64token from a header source", async () => {
    const d = await gate.decide(checkRequest("/legacy/x", { "x-api-token": "Bearer good" }));
    expect(d).toMatchObject({ kind: "deny", code: "token_malformed" });
  });

  it("keeps reading Authorization on a route without a source, and names no query parameter", async () => {
    const d = (await gate.decide(checkRequest("/api/x?access_token=good", { authorization: "Bearer good" }))) as Allow;
    expect(d).toMatchObject({ kind: "allow", reason: "authenticated" });
    expect(d.removeQueryParameters).toBeUndefined();
  });
});
