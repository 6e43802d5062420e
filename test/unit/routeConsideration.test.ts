import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";

// `consider` (explain) walks the rule list itself; it must name the rule match() picks, every time.
const CONFIG = {
  policy: { mode: "whitelist" },
  providers: { demo: { issuer: "https://idp.example.com", audiences: ["api"] } },
  routes: [
    { name: "health", match: { pathExact: "/healthz", methods: ["GET"] } },
    { name: "admin-host", match: { host: "admin.example.com", path: "/" }, auth: "required" },
    { name: "wild", match: { host: "*.tenant.example.com", path: "/t" }, auth: "required" },
    { name: "files", match: { pathGlob: "/files/*/raw" }, auth: "required" },
    { name: "items", match: { pathRegex: "^/v[0-9]+/items$", methods: ["POST"] }, auth: "required" },
    { name: "exact-public", match: { pathExact: "/Docs", caseSensitive: true } },
    { name: "reports", match: { path: "/reports" }, auth: "optional" },
  ],
};

const HOSTS = ["app.example.com", "admin.example.com", "a.tenant.example.com", "tenant.example.com", "bad host"];
const PATHS = [
  "/healthz",
  "/healthz/",
  "/HEALTHZ",
  "/t/x",
  "/files/a/raw",
  "/files/a/raw/",
  "/FILES/a/RAW",
  "/v2/items",
  "/v2/items/",
  "/Docs",
  "/docs",
  "/reports",
  "/Reports/x",
  "/",
  "/other",
];
const METHODS = ["GET", "HEAD", "POST", "delete"];

describe("RouteTable.consider", () => {
  it("ends on the rule match() picks for every host, path and method, and names why each earlier rule was skipped", () => {
    const parsed = parseConfig(CONFIG);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const table = new RouteTable(parsed.config.routes, parsed.config.policy);
    let compared = 0;
    for (const host of HOSTS)
      for (const path of PATHS)
        for (const method of METHODS) {
          const considered = table.consider(host, path, method);
          const last = considered.at(-1);
          const picked = last?.mismatch === null ? last.name : null;
          expect(picked, `${method} ${host} ${path}`).toBe(table.match(host, path, method)?.name ?? null);
          expect(considered.slice(0, -1).every((rule) => rule.mismatch !== null)).toBe(true);
          compared += 1;
        }
    expect(compared).toBe(HOSTS.length * PATHS.length * METHODS.length);
    expect(table.consider("app.example.com", "/files/a/raw/", "GET")).toEqual([
      { name: "health", mismatch: "path" },
      { name: "admin-host", mismatch: "host" },
      { name: "wild", mismatch: "host" },
      { name: "files", mismatch: null },
    ]);
    expect(table.consider("app.example.com", "/v2/items", "GET").slice(4, 5)).toEqual([
      { name: "items", mismatch: "method" },
    ]);
  });
});
