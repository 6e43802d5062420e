// A route's own additions to the client's answer: `responseHeaders` on an allowed request, made from
// verified claims only and kept with the reused answer; `denial` bodies for its 401 and 403 answers,
// an HTML page for browser navigations (placeholders HTML-escaped, no other request data) and JSON for
// API clients, status and WWW-Authenticate unchanged. check-config refuses headers that steer the
// client, oversize pages and JSON that does not parse.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { withDenialFiles } from "../../src/app/readDenialPage.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { createDenialPages } from "../../src/core/createDenialPages.ts";
import { createRecordingTrace } from "../../src/core/GateTrace.ts";
import type { Decision } from "../../src/core/Decision.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { createRouteResponseHeaders } from "../../src/identity/createRouteResponseHeaders.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";

const PAGE = "<h1>No entry to {{route}}</h1><p>{{code}} {{status}}, quote {{requestId}}</p>";
const JSON_BODY = '{"error":"forbidden","support":"it@example.com"}';
const base = {
  providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  routes: [
    {
      name: "ui",
      match: { path: "/ui" },
      auth: "required",
      responseHeaders: { "x-auth-user": "email", "x-auth-sub": "sub", "x-auth-team": "claim:team" },
      denial: { html: PAGE, json: JSON_BODY },
      require: { roles: ["staff"] },
    },
    { name: "api", match: { path: "/" }, auth: "required", require: { roles: ["staff"] } },
  ],
};
const parsed = (overrides: Record<string, unknown> = {}) => parseConfig({ ...base, ...overrides });
const routesOf = (): RouteConfig[] => {
  const result = parsed();
  if (!result.ok) throw new Error(JSON.stringify(result));
  return [...result.config.routes];
};
const person = (claims: Record<string, unknown>): VerifyOutcome => ({
  ok: true,
  provider: "corp",
  claims: { exp: 2e9, ...claims },
  expiresAt: 2e9,
});
const tokens = {
  alice: person({ sub: "alice", email: "alice@example.com", roles: ["staff"], team: ["red", "blue"] }),
  mallory: person({ sub: "mallory", email: "m\r\nset-cookie: x=1", roles: ["guest"] }),
};
const gate = () => {
  const routes = routesOf();
  return gateOver({
    routes,
    tokens,
    tokenCache: true,
    responseHeaders: createRouteResponseHeaders(routes, 4096),
    denialPages: createDenialPages(routes),
  }).gate;
};
const bearer = (token: string, more: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...more });
const header = (list: ReadonlyArray<readonly [string, string]> | undefined, name: string) =>
  list?.find(([n]) => n === name)?.[1];
const denied = (d: Decision) => {
  if (d.kind !== "deny") throw new Error(`expected a denial, got ${d.kind}`);
  return d;
};

describe("a route's response headers on allow", () => {
  it("sends the caller's email, sub and a claim to the client on that route only", async () => {
    const g = gate();
    const d = await g.decide(checkRequest("/ui/home", bearer("alice")));
    if (d.kind !== "allow") throw new Error("expected allow");
    expect(header(d.responseHeaders, "x-auth-user")).toBe("alice@example.com");
    expect(header(d.responseHeaders, "x-auth-sub")).toBe("alice");
    expect(header(d.responseHeaders, "x-auth-team")).toBe("red,blue");
    const api = await g.decide(checkRequest("/api/x", bearer("alice")));
    expect(api.kind === "allow" && api.responseHeaders).toBeFalsy();
  });

  it("keeps them in the reused answer of a cached token", async () => {
    const g = gate();
    await g.decide(checkRequest("/ui/a", bearer("alice")));
    const kept = await g.decide(checkRequest("/ui/b", bearer("alice")));
    expect(Object.isFrozen(kept)).toBe(true);
    expect(await g.decide(checkRequest("/ui/c", bearer("alice")))).toBe(kept);
    expect(kept.kind === "allow" && header(kept.responseHeaders, "x-auth-user")).toBe("alice@example.com");
  });

  it("cleans control characters out of a claim value so it cannot split the header", () => {
    const headers = createRouteResponseHeaders(routesOf(), 4096)!;
    expect(header(headers("ui", { sub: "m", email: "m\r\nset-cookie: x=1" }), "x-auth-user")).toBe("mset-cookie: x=1");
    expect(header(headers("ui", { sub: " m " }), "x-auth-sub")).toBeUndefined();
  });

  it("is refused by check-config for Set-Cookie, framing and hop-by-hop headers", () => {
    for (const name of ["set-cookie", "content-type", "location", "connection", "transfer-encoding"]) {
      const routes = [{ name: "ui", match: { path: "/" }, auth: "required", responseHeaders: { [name]: "sub" } }];
      const result = parsed({ routes });
      expect(result.ok, name).toBe(false);
      expect(JSON.stringify(result)).toContain("routes[0].responseHeaders");
    }
  });
});

describe("a route's own denial bodies", () => {
  it("shows a browser navigation its HTML page, placeholders filled in and escaped", async () => {
    const request = checkRequest("/ui/home", bearer("mallory", { accept: "text/html" }), {
      requestId: '<script>alert("x")</script>',
    });
    const d = denied(await gate().decide(request));
    expect(d.status).toBe(403);
    expect(header(d.headers, "content-type")).toBe("text/html; charset=utf-8");
    expect(d.body).toBe(
      "<h1>No entry to ui</h1><p>requirement_failed 403, quote &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>",
    );
  });

  it("gives an API client its JSON, keeping the status and the challenge", async () => {
    const forbidden = denied(await gate().decide(checkRequest("/ui/data", bearer("mallory"))));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toBe(JSON_BODY);
    expect(header(forbidden.headers, "content-type")).toBe("application/json");
    const missing = denied(await gate().decide(checkRequest("/ui/data")));
    expect(missing.status).toBe(401);
    expect(missing.body).toBe(JSON_BODY);
    expect(header(missing.headers, "www-authenticate")).toMatch(/^Bearer/);
  });

  it("is the answer explain (and a traced live request) gives too", async () => {
    const forbidden = denied(await gate().explain(checkRequest("/ui/data", bearer("mallory")), createRecordingTrace()));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toBe(JSON_BODY);
  });

  it("leaves other routes' denials as they were", async () => {
    const d = denied(await gate().decide(checkRequest("/api/x", bearer("mallory"))));
    expect(JSON.parse(d.body)).toMatchObject({ error: "requirement_failed" });
  });

  it("reads the page from htmlFile, and check-config refuses a file it cannot read or one beside html", async () => {
    const dir = mkdtempSync(join(tmpdir(), "portcullis-denial-"));
    const file = join(dir, "403.html");
    writeFileSync(file, "<p>From a file: {{code}}</p>");
    const routes = [
      { name: "ui", match: { path: "/" }, auth: "required", require: { roles: ["staff"] }, denial: { htmlFile: file } },
    ];
    const result = parseCheckedConfig({ ...base, routes });
    if (!result.ok) throw new Error(JSON.stringify(result));
    const loaded = withDenialFiles(result.config.routes);
    const g = gateOver({ routes: loaded, tokens, denialPages: createDenialPages(loaded) }).gate;
    const d = denied(await g.decide(checkRequest("/x", bearer("mallory", { accept: "text/html" }))));
    expect(d.body).toBe("<p>From a file: requirement_failed</p>");
    const missing = parseCheckedConfig({
      ...base,
      routes: [{ ...routes[0], denial: { htmlFile: join(dir, "no.html") } }],
    });
    expect(JSON.stringify(missing)).toMatch(/routes\[0\]\.denial\.htmlFile.*cannot be read \(ENOENT\)/);
    const both = parseCheckedConfig({ ...base, routes: [{ ...routes[0], denial: { htmlFile: file, html: "<p/>" } }] });
    expect(both.ok).toBe(false);
  });

  it("is refused by check-config when the JSON does not parse or the page is too large", () => {
    const route = (denial: Record<string, unknown>) => ({
      routes: [{ name: "ui", match: { path: "/" }, auth: "required", denial }],
    });
    expect(JSON.stringify(parsed(route({ json: "{nope" })))).toContain("routes[0].denial.json");
    expect(JSON.stringify(parsed(route({ html: "x".repeat(70_000) })))).toContain("routes[0].denial.html");
    expect(parsed(route({ html: "<p>ok</p>", json: "{}" })).ok).toBe(true);
  });
});
