import { describe, expect, it } from "vitest";
import { regexLiteralPrefix } from "../../src/core/regexLiteralPrefix.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";

describe("regexLiteralPrefix", () => {
  const cases: [source: string, prefix: string, complete: boolean][] = [
    ["^/v[0-9]+/users$", "/v", false],
    ["^/v1/users/[0-9]+$", "/v1/users/", false],
    ["^/healthz$", "/healthz", true],
    ["^/api\\/v1\\.0/x$", "/api/v1.0/x", true],
    ["^/ab?c$", "/a", false],
    ["^/ab*c$", "/a", false],
    ["^/ab{2}c$", "/a", false],
    ["^/ab+c$", "/ab", false],
    ["^/a\\d+$", "/a", false],
    ["^/(a|b)$", "", false],
    ["^/a|/b$", "", false],
    ["^.*$", "", false],
    ["^/price\\$$", "/price$", true],
  ];
  it.each(cases)("reads %s as prefix %s", (source, prefix, complete) => {
    expect(regexLiteralPrefix(source)).toEqual({ prefix, complete });
    const regex = new RegExp(source);
    for (const path of ["/v1/users/7", "/healthz", "/api/v1.0/x", "/abbc", "/ac", "/a12", "/b", "/price$", "/abc"]) {
      if (regex.test(path)) expect(path.startsWith(prefix), `${source} matched ${path}`).toBe(true);
    }
  });

  it("keeps regex rules with optional characters matching through the prefix check", () => {
    const table = new RouteTable([
      { name: "opt", match: { hosts: [], path: null, pathRegex: "^/colou?r/[a-z]+$" }, auth: "public", providers: [] },
      { name: "plus", match: { hosts: [], path: null, pathRegex: "^/a+/x$" }, auth: "public", providers: [] },
      { name: "exact", match: { hosts: [], path: null, pathRegex: "^/healthz$" }, auth: "public", providers: [] },
    ]);
    expect(table.match("h", "/color/red", "GET")?.name).toBe("opt");
    expect(table.match("h", "/colour/red", "GET")?.name).toBe("opt");
    expect(table.match("h", "/aaa/x", "GET")?.name).toBe("plus");
    expect(table.match("h", "/healthz", "GET")?.name).toBe("exact");
    expect(table.match("h", "/healthz/", "GET")).toBeNull();
  });
});
