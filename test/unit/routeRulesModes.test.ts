import { NO_DEFAULT_REQUIREMENTS } from "../harness/noRequirements.ts";
import { describe, expect, it } from "vitest";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../../src/config/removedRequestHeaders.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";

const providers = { corp: { issuer: "https://idp.example.com", audiences: ["api"] } };

function load(raw: Record<string, unknown>): PortcullisConfig {
  const result = parseConfig({ providers, ...raw });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

function table(config: PortcullisConfig): RouteTable {
  return new RouteTable(config.routes, config.policy);
}

const requests: [host: string, path: string, method: string][] = [
  ["www.example.com", "/", "GET"],
  ["www.example.com", "/public/logo.png", "GET"],
  ["www.example.com", "/public/upload", "POST"],
  ["www.example.com", "/healthz", "GET"],
  ["www.example.com", "/healthz/x", "GET"],
  ["api.example.com", "/api/orders", "GET"],
  ["api.example.com", "/api/orders", "DELETE"],
  ["api.example.com", "/docs/a/b", "GET"],
  ["x.example.org", "/docs/a/b", "GET"],
  ["x.example.org", "/anything", "PUT"],
];

function outcomes(t: RouteTable) {
  return requests.map(([host, path, method]) => {
    const route = t.match(host, path, method);
    return route === null
      ? null
      : { name: route.name, auth: route.auth, providers: route.providers, requirements: route.requirements };
  });
}

describe("policy modes compile to plain rules", () => {
  it("gives the same route for every request in whitelist mode as its hand-written rules", () => {
    const listed = [
      { name: "assets", match: { path: "/public", methods: ["GET", "HEAD"] } },
      { name: "health", match: { pathExact: "/healthz" } },
      { name: "docs", match: { host: "*.example.com", pathGlob: "/docs/**" } },
      {
        name: "orders",
        match: { host: "api.example.com", path: "/api" },
        auth: "required",
        require: { scopes: ["api.read"] },
      },
    ];
    const whitelist = load({ policy: { mode: "whitelist" }, routes: listed });
    const rules = load({
      routes: [...listed.map((r) => ({ auth: "public", ...r })), { name: "default", auth: "required" }],
    });
    expect(outcomes(table(whitelist))).toEqual(outcomes(table(rules)));
    expect(outcomes(table(whitelist)).map((o) => o?.name)).toEqual([
      "default",
      "assets",
      "default",
      "health",
      "default",
      "orders",
      "orders",
      "docs",
      "default",
      "default",
    ]);
  });

  it("gives the same route for every request in blacklist mode as its hand-written rules", () => {
    const listed = [
      {
        name: "admin",
        match: { host: "api.example.com", path: "/api", methods: ["DELETE"] },
        require: { roles: ["admin"] },
      },
      { name: "orders", match: { host: "api.example.com", path: "/api" } },
      { name: "health", match: { pathExact: "/healthz" }, auth: "public" },
      { name: "docs", match: { pathRegex: "^/docs/.*$" }, auth: "optional" },
    ];
    const blacklist = load({ policy: { mode: "blacklist" }, routes: listed });
    const rules = load({
      routes: [...listed.map((r) => ({ auth: "required", ...r })), { name: "default", auth: "public" }],
    });
    expect(outcomes(table(blacklist))).toEqual(outcomes(table(rules)));
    expect(outcomes(table(blacklist)).map((o) => o && `${o.name}:${o.auth}`)).toEqual([
      "default:public",
      "default:public",
      "default:public",
      "health:public",
      "default:public",
      "orders:required",
      "admin:required",
      "docs:optional",
      "docs:optional",
      "default:public",
    ]);
  });

  it("appends a catch-all named default that requires auth in whitelist mode", () => {
    const t = table(load({ policy: { mode: "whitelist" }, routes: [{ name: "open", match: { path: "/open" } }] }));
    expect(t.match("any.host", "/open/x", "GET")).toMatchObject({ name: "open", auth: "public", index: 0 });
    expect(t.match("any.host", "/closed", "POST")).toEqual({
      name: "default",
      index: null,
      auth: "required",
      providers: [],
      requirements: null,
      removeRequestHeaders: DEFAULT_REMOVED_REQUEST_HEADERS,
      binding: null,
    });
  });

  it("appends a catch-all named default that is public in blacklist mode", () => {
    const t = table(load({ policy: { mode: "blacklist" }, routes: [{ name: "closed", match: { path: "/closed" } }] }));
    expect(t.match("any.host", "/closed", "GET")).toMatchObject({ name: "closed", auth: "required", index: 0 });
    expect(t.match("any.host", "/open", "GET")).toMatchObject({ name: "default", auth: "public", index: null });
  });

  it("matches nothing past the last rule in rules mode", () => {
    const config = load({ routes: [{ name: "api", match: { path: "/api" }, auth: "required" }] });
    expect(config.policy).toEqual({
      mode: "rules",
      allowPathShapes: [],
      removeRequestHeaders: DEFAULT_REMOVED_REQUEST_HEADERS,
      defaults: { require: NO_DEFAULT_REQUIREMENTS },
      trustedForwardedHops: 0,
    });
    expect(table(config).match("h", "/other", "GET")).toBeNull();
  });

  it("compiles requirements once and hands them out with the route", () => {
    const config = load({
      routes: [
        {
          name: "api",
          match: { path: "/api" },
          auth: "required",
          require: { scopes: ["api.read"], roles: { allOf: ["ops"] }, maxAge: 300 },
        },
      ],
    });
    const route = table(config).match("h", "/api", "GET");
    expect(route?.requirements).toMatchObject({
      scopes: ["api.read"],
      roles: { anyOf: [], allOf: ["ops"] },
      stepUp: { acr: null, amr: [], maxAge: 300 },
      principal: "any",
      clients: null,
    });
  });

  it("hands out null requirements for a route that requires nothing beyond a credential", () => {
    const config = load({ routes: [{ name: "api", match: { path: "/api" }, auth: "required" }] });
    expect(table(config).match("h", "/api", "GET")?.requirements).toBeNull();
  });
});
