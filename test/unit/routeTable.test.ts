import { describe, it, expect } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";

function route(name: string, path: string, hosts: string[] = [], auth: "required" | "public" = "required"): RouteConfig {
  return { name, match: { hosts, path }, auth, providers: [] };
}

function matchedName(table: RouteTable, host: string, path: string): string | null {
  return table.match(host, path, "GET")?.name ?? null;
}

describe("RouteTable", () => {
  it("matches a path prefix only on a segment boundary", () => {
    const table = new RouteTable([route("api", "/api")]);
    expect(matchedName(table, "h", "/api")).toBe("api");
    expect(matchedName(table, "h", "/api/")).toBe("api");
    expect(matchedName(table, "h", "/api/x/y")).toBe("api");
    expect(matchedName(table, "h", "/apix")).toBeNull();
    expect(matchedName(table, "h", "/ap")).toBeNull();
    expect(matchedName(table, "h", "/")).toBeNull();
  });

  it("treats a prefix with a trailing slash like the same prefix without one", () => {
    const table = new RouteTable([route("api", "/api/")]);
    expect(matchedName(table, "h", "/api/x")).toBe("api");
    expect(matchedName(table, "h", "/api/")).toBe("api");
    expect(matchedName(table, "h", "/api")).toBe("api");
    expect(matchedName(table, "h", "/apix")).toBeNull();
  });

  it("matches every path with the prefix /", () => {
    const table = new RouteTable([route("all", "/")]);
    expect(matchedName(table, "h", "/")).toBe("all");
    expect(matchedName(table, "h", "/anything/at/all")).toBe("all");
  });

  it("returns the first matching route in configuration order", () => {
    const table = new RouteTable([
      route("health", "/api/health", [], "public"),
      route("api", "/api"),
      route("shadowed", "/api/health", [], "public"),
      route("fallback", "/", [], "public"),
    ]);
    expect(matchedName(table, "h", "/api/health")).toBe("health");
    expect(matchedName(table, "h", "/api/healthz")).toBe("api");
    expect(matchedName(table, "h", "/other")).toBe("fallback");
  });

  it("returns null when no route matches", () => {
    const table = new RouteTable([route("api", "/api", ["api.example.com"])]);
    expect(table.match("api.example.com", "/web", "GET")).toBeNull();
    expect(table.match("other.example.com", "/api", "GET")).toBeNull();
    expect(new RouteTable([]).match("h", "/", "GET")).toBeNull();
  });

  it("matches exact hosts case-insensitively", () => {
    const table = new RouteTable([route("api", "/", ["API.Example.com"])]);
    expect(matchedName(table, "api.example.com", "/")).toBe("api");
    expect(matchedName(table, "Api.EXAMPLE.com", "/")).toBe("api");
    expect(matchedName(table, "api.example.org", "/")).toBeNull();
  });

  it("ignores a port on the request host", () => {
    const table = new RouteTable([route("api", "/", ["api.example.com"]), route("v6", "/", ["[::1]"])]);
    expect(matchedName(table, "api.example.com:8443", "/")).toBe("api");
    expect(matchedName(table, "[::1]:8443", "/")).toBe("v6");
  });

  it("treats a trailing dot on the request host as the same host, so it cannot fall through", () => {
    const table = new RouteTable([
      route("admin", "/", ["admin.example.com"]),
      route("open", "/", [], "public"),
    ]);
    expect(matchedName(table, "admin.example.com.", "/")).toBe("admin");
  });

  it("matches a *.suffix wildcard for one or more labels but not the bare suffix", () => {
    const table = new RouteTable([route("wild", "/", ["*.example.com"])]);
    expect(matchedName(table, "a.example.com", "/")).toBe("wild");
    expect(matchedName(table, "a.b.example.com", "/")).toBe("wild");
    expect(matchedName(table, "A.Example.COM:443", "/")).toBe("wild");
    expect(matchedName(table, "example.com", "/")).toBeNull();
    expect(matchedName(table, ".example.com", "/")).toBeNull();
    expect(matchedName(table, "badexample.com", "/")).toBeNull();
  });

  it("matches any of several configured hosts", () => {
    const table = new RouteTable([route("multi", "/", ["a.example.com", "*.b.example.com"])]);
    expect(matchedName(table, "a.example.com", "/")).toBe("multi");
    expect(matchedName(table, "x.b.example.com", "/")).toBe("multi");
    expect(matchedName(table, "b.example.com", "/")).toBeNull();
  });

  it("matches any host when no host is configured", () => {
    const table = new RouteTable([route("any", "/api")]);
    expect(matchedName(table, "whatever.test", "/api")).toBe("any");
    expect(matchedName(table, "", "/api")).toBe("any");
  });

  it("requires both host and path to match before a route wins", () => {
    const table = new RouteTable([
      route("admin", "/admin", ["admin.example.com"]),
      route("public", "/", [], "public"),
    ]);
    expect(matchedName(table, "admin.example.com", "/admin/x")).toBe("admin");
    expect(matchedName(table, "www.example.com", "/admin/x")).toBe("public");
  });
});
