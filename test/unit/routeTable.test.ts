import { describe, it, expect } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { normalizePath } from "../../src/core/normalizePath.ts";

function route(
  name: string,
  path: string,
  hosts: string[] = [],
  auth: "required" | "public" = "required",
): RouteConfig {
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
    const table = new RouteTable([route("admin", "/", ["admin.example.com"]), route("open", "/", [], "public")]);
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
    expect(matchedName(table, "whatever.test:8443", "/api")).toBe("any");
  });

  it("requires both host and path to match before a route wins", () => {
    const table = new RouteTable([route("admin", "/admin", ["admin.example.com"]), route("public", "/", [], "public")]);
    expect(matchedName(table, "admin.example.com", "/admin/x")).toBe("admin");
    expect(matchedName(table, "www.example.com", "/admin/x")).toBe("public");
  });
});

type MatchSpec = Partial<Omit<RouteConfig["match"], "hosts">> & { hosts?: string[] };

function rule(name: string, match: MatchSpec, auth: RouteConfig["auth"] = "required"): RouteConfig {
  return { name, match: { path: null, ...match, hosts: match.hosts ?? [] }, auth, providers: [] };
}

function nameFor(table: RouteTable, host: string, path: string, method = "GET"): string | null {
  return table.match(host, path, method)?.name ?? null;
}

describe("RouteTable: path forms", () => {
  it("matches a public exact path only byte for byte, a trailing slash included", () => {
    const table = new RouteTable([rule("health", { pathExact: "/healthz" }, "public")]);
    expect(nameFor(table, "h", "/healthz")).toBe("health");
    expect(nameFor(table, "h", "/healthz/")).toBeNull();
    expect(nameFor(table, "h", "/healthz/x")).toBeNull();
    expect(nameFor(table, "h", "/healthzz")).toBeNull();
  });

  it("matches a protected exact path with one trailing slash toggled, and nothing else more", () => {
    const table = new RouteTable([rule("health", { pathExact: "/healthz" }), rule("panel", { pathExact: "/panel/" })]);
    expect(nameFor(table, "h", "/healthz")).toBe("health");
    expect(nameFor(table, "h", "/healthz/")).toBe("health");
    expect(nameFor(table, "h", "/healthz/x")).toBeNull();
    expect(nameFor(table, "h", "/healthzz")).toBeNull();
    expect(nameFor(table, "h", "/panel/")).toBe("panel");
    expect(nameFor(table, "h", "/panel")).toBe("panel");
    expect(nameFor(table, "h", "/panel/x")).toBeNull();
  });

  it("matches protected globs and regexes with one trailing slash toggled", () => {
    const table = new RouteTable([
      rule("meta", { pathGlob: "/files/*/meta" }),
      rule("users", { pathRegex: "^/v[0-9]+/users$" }),
      rule("dirs", { pathRegex: "^/dirs/[a-z]+/$" }),
      // The toggled `/opt/` has the literal prefix `/opt/` that `/opt` itself lacks.
      rule("opt", { pathRegex: "^/opt/(x)?$" }),
      rule("open-meta", { pathGlob: "/open/*/meta" }, "public"),
      rule("open-users", { pathRegex: "^/w[0-9]+/users$" }, "public"),
    ]);
    expect(nameFor(table, "h", "/files/a/meta/")).toBe("meta");
    expect(nameFor(table, "h", "/v1/users/")).toBe("users");
    expect(nameFor(table, "h", "/dirs/x")).toBe("dirs");
    expect(nameFor(table, "h", "/dirs/x/")).toBe("dirs");
    expect(nameFor(table, "h", "/opt")).toBe("opt");
    expect(nameFor(table, "h", "/opt/x/")).toBe("opt");
    expect(nameFor(table, "h", "/open/a/meta")).toBe("open-meta");
    expect(nameFor(table, "h", "/open/a/meta/")).toBeNull();
    expect(nameFor(table, "h", "/w1/users")).toBe("open-users");
    expect(nameFor(table, "h", "/w1/users/")).toBeNull();
  });

  it("finds a rule for the toggled path through the first-segment index, folded or not", () => {
    const specs: ReadonlyArray<readonly [string, MatchSpec]> = [
      ["admin", { pathExact: "/admin" }],
      ["panel", { pathExact: "/panel/" }],
      ["users", { pathRegex: "^/api/users$" }],
      ["meta", { pathGlob: "/files/*/meta" }],
    ];
    for (const caseSensitive of [true, false]) {
      const table = new RouteTable([
        ...specs.map(([name, match]) => rule(name, { ...match, caseSensitive })),
        rule("rest", { path: "/" }, "public"),
      ]);
      const label = `caseSensitive ${caseSensitive}`;
      expect(nameFor(table, "h", "/admin/"), label).toBe("admin");
      expect(nameFor(table, "h", "/panel"), label).toBe("panel");
      expect(nameFor(table, "h", "/api/users/"), label).toBe("users");
      expect(nameFor(table, "h", "/files/x/meta/"), label).toBe("meta");
      expect(nameFor(table, "h", "/ADMIN/"), label).toBe(caseSensitive ? "rest" : "admin");
      expect(nameFor(table, "h", "/Panel"), label).toBe(caseSensitive ? "rest" : "panel");
      expect(nameFor(table, "h", "/Files/X/Meta/"), label).toBe(caseSensitive ? "rest" : "meta");
    }
  });

  it("matches a glob whose * is exactly one non-empty segment", () => {
    const table = new RouteTable([rule("meta", { pathGlob: "/files/*/meta" })]);
    expect(nameFor(table, "h", "/files/a/meta")).toBe("meta");
    expect(nameFor(table, "h", "/files/a.b-c/meta")).toBe("meta");
    expect(nameFor(table, "h", "/files/meta")).toBeNull();
    expect(nameFor(table, "h", "/files/a/b/meta")).toBeNull();
    expect(nameFor(table, "h", "/files/a/meta/x")).toBeNull();
    expect(nameFor(table, "h", "/files/a/metadata")).toBeNull();
  });

  it("matches a glob whose ** is any number of segments, zero included", () => {
    const table = new RouteTable([
      rule("docs", { pathGlob: "/docs/**/index.html" }),
      rule("tree", { pathGlob: "/tree/**" }),
    ]);
    expect(nameFor(table, "h", "/docs/index.html")).toBe("docs");
    expect(nameFor(table, "h", "/docs/a/index.html")).toBe("docs");
    expect(nameFor(table, "h", "/docs/a/b/c/index.html")).toBe("docs");
    expect(nameFor(table, "h", "/docs/a/b/c/index.htm")).toBeNull();
    expect(nameFor(table, "h", "/tree")).toBe("tree");
    expect(nameFor(table, "h", "/tree/")).toBe("tree");
    expect(nameFor(table, "h", "/tree/x/y")).toBe("tree");
    expect(nameFor(table, "h", "/treehouse")).toBeNull();
  });

  it("treats glob literals as literal text, not regex syntax", () => {
    const table = new RouteTable([rule("dot", { pathGlob: "/a.b/*" })]);
    expect(nameFor(table, "h", "/a.b/x")).toBe("dot");
    expect(nameFor(table, "h", "/aXb/x")).toBeNull();
  });

  it("keeps a glob with many ** fast on a long path", () => {
    const table = new RouteTable([rule("deep", { pathGlob: "/**/a/**/b/**/c/**/d" })]);
    const path = "/" + Array.from({ length: 2000 }, () => "a/b/c").join("/") + "/x";
    const started = performance.now();
    expect(nameFor(table, "h", path)).toBeNull();
    expect(performance.now() - started).toBeLessThan(500);
    expect(nameFor(table, "h", "/a/b/c/d")).toBe("deep");
  });

  it("matches an anchored regex against the whole path", () => {
    const table = new RouteTable([rule("users", { pathRegex: "^/v[0-9]+/users$" })]);
    expect(nameFor(table, "h", "/v1/users")).toBe("users");
    expect(nameFor(table, "h", "/v42/users")).toBe("users");
    expect(nameFor(table, "h", "/v1/users/7")).toBeNull();
    expect(nameFor(table, "h", "/x/v1/users")).toBeNull();
  });

  it("keeps a top-level regex alternation inside its anchors", () => {
    const table = new RouteTable([rule("alt", { pathRegex: "^/a|/b$" })]);
    expect(nameFor(table, "h", "/a")).toBe("alt");
    expect(nameFor(table, "h", "/b")).toBe("alt");
    expect(nameFor(table, "h", "/a/x")).toBeNull();
    expect(nameFor(table, "h", "/x/b")).toBeNull();
  });

  it("matches every path when no path form is given", () => {
    const table = new RouteTable([rule("all", {})]);
    expect(nameFor(table, "h", "/")).toBe("all");
    expect(nameFor(table, "h", "/any/thing")).toBe("all");
  });
});

describe("RouteTable: methods", () => {
  it("matches only the listed methods and lets others fall through to a later rule", () => {
    const table = new RouteTable([
      rule("read", { path: "/api", methods: ["GET", "HEAD"] }, "public"),
      rule("write", { path: "/api" }),
    ]);
    expect(nameFor(table, "h", "/api/x", "GET")).toBe("read");
    expect(nameFor(table, "h", "/api/x", "HEAD")).toBe("read");
    expect(nameFor(table, "h", "/api/x", "POST")).toBe("write");
    expect(nameFor(table, "h", "/api/x", "DELETE")).toBe("write");
  });

  it("compares methods case-insensitively so a lower-case method cannot skip its rule", () => {
    const table = new RouteTable([rule("delete", { path: "/", methods: ["DELETE"] }), rule("open", {}, "public")]);
    expect(nameFor(table, "h", "/x", "delete")).toBe("delete");
    expect(nameFor(table, "h", "/x", "Delete")).toBe("delete");
  });

  it("matches any method when none is listed", () => {
    const table = new RouteTable([rule("any", { path: "/" })]);
    for (const method of ["GET", "POST", "PATCH", "OPTIONS", "PROPFIND"])
      expect(nameFor(table, "h", "/x", method)).toBe("any");
  });
});

describe("RouteTable: order across the host index", () => {
  it("keeps configuration order between exact-host, wildcard and any-host rules", () => {
    const table = new RouteTable([
      rule("any-health", { pathExact: "/healthz" }, "public"),
      rule("wild-admin", { hosts: ["*.example.com"], path: "/admin" }),
      rule("api-all", { hosts: ["api.example.com"] }),
      rule("any-rest", {}, "public"),
    ]);
    expect(nameFor(table, "api.example.com", "/healthz")).toBe("any-health");
    expect(nameFor(table, "api.example.com", "/admin/x")).toBe("wild-admin");
    expect(nameFor(table, "api.example.com", "/other")).toBe("api-all");
    expect(nameFor(table, "www.example.com", "/admin")).toBe("wild-admin");
    expect(nameFor(table, "www.example.com", "/other")).toBe("any-rest");
    expect(nameFor(table, "example.com", "/admin")).toBe("any-rest");
  });

  it("keeps configuration order between rules with and without a fixed first segment", () => {
    const table = new RouteTable([
      rule("any-x", { pathGlob: "/*/x" }, "public"),
      rule("api", { path: "/api" }),
      rule("digits", { pathRegex: "^/[a-z]+/[0-9]+$" }, "public"),
      rule("api-7", { pathExact: "/api/7" }, "public"),
      rule("root", { pathExact: "/" }, "public"),
    ]);
    expect(nameFor(table, "h", "/api/x")).toBe("any-x");
    expect(nameFor(table, "h", "/api/7")).toBe("api");
    expect(nameFor(table, "h", "/web/7")).toBe("digits");
    expect(nameFor(table, "h", "/web/x")).toBe("any-x");
    expect(nameFor(table, "h", "/")).toBe("root");
    expect(nameFor(table, "h", "/web")).toBeNull();
  });

  it("agrees with a plain first-match scan on a 200-rule, 20-host table", () => {
    const hosts = Array.from({ length: 20 }, (_, i) => `svc${i}.example.com`);
    const routes: RouteConfig[] = [];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const paths = ["/api", "/api/v1", "/admin", "/public", "/files", "/"];
    for (let i = 0; i < 200; i++) {
      const kind = random(10);
      const host = kind < 6 ? [hosts[random(20)] as string] : kind < 8 ? ["*.example.com"] : [];
      const form = random(4);
      const base = paths[random(paths.length)] as string;
      const match: MatchSpec =
        form === 0
          ? { path: base }
          : form === 1
            ? { pathExact: `${base === "/" ? "" : base}/x` }
            : form === 2
              ? { pathGlob: `${base === "/" ? "" : base}/*/y` }
              : { pathRegex: `^${base === "/" ? "" : base}/[0-9]+$` };
      routes.push(rule(`r${i}`, { ...match, hosts: host, ...(random(3) === 0 ? { methods: ["POST"] } : {}) }));
    }
    const table = new RouteTable(routes);
    const singles = routes.map((r) => new RouteTable([r]));
    const scan = (host: string, path: string, method: string): string | null => {
      const index = singles.findIndex((t) => t.match(host, path, method) !== null);
      return index === -1 ? null : (routes[index]?.name ?? null);
    };
    const requestHosts = [...hosts, "other.example.com", "example.com", "elsewhere.test"];
    const requestPaths = ["/api", "/api/x", "/api/v1/x", "/admin/7", "/public/q/y", "/files/x", "/x", "/7", "/nothing"];
    for (const host of requestHosts) {
      for (const path of requestPaths) {
        for (const method of ["GET", "POST"])
          expect(nameFor(table, host, path, method), `${method} ${host}${path}`).toBe(scan(host, path, method));
      }
    }
  });
});

describe("RouteTable: matching after normalisation", () => {
  const table = new RouteTable([
    rule("public", { path: "/public" }, "public"),
    rule("admin", { path: "/admin" }),
    rule("files", { pathGlob: "/files/*/meta" }, "public"),
  ]);
  const cases: [raw: string, normalised: string, route: string | null][] = [
    ["/public/../admin", "/admin", "admin"],
    ["/public/./../admin/x", "/admin/x", "admin"],
    ["/public//admin", "/public/admin", "public"],
    ["/%61dmin", "/admin", "admin"],
    ["/public/%2e%2e/admin", "/admin", "admin"],
    ["//admin", "/admin", "admin"],
    ["/adminX", "/adminX", null],
    ["/admin?x=/public", "/admin", "admin"],
    ["/files/a/./meta", "/files/a/meta", "files"],
    ["/files/a/b/../meta", "/files/a/meta", "files"],
  ];
  it.each(cases)("normalises %s to %s before matching", (raw, normalised, route) => {
    const result = normalizePath(raw);
    expect(result).toEqual({ ok: true, path: normalised });
    expect(nameFor(table, "h", normalised)).toBe(route);
  });
});
