// A rule is written in the one spelling the normaliser gives every request path: escaped sub-delims,
// ':' and '@' decoded, non-ASCII percent-encoded as UTF-8, regex letters spelled so they fold. Each
// request spelling of a protected path then meets the protected rule, never the looser one after it.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { escapeProblem } from "../../src/config/routeFormats.ts";
import { createPathNormalizer, normalizePath, PATH_SHAPE_NAMES } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";

function tableFor(match: Record<string, unknown>): RouteTable {
  const result = parseConfig({
    providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
    routes: [
      { name: "admin", match, auth: "required", require: { roles: ["admin"] } },
      { name: "login", match: {}, auth: "required" },
    ],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return new RouteTable(result.config.routes, result.config.policy);
}

function routeOf(table: RouteTable, raw: string): string | null {
  const normalized = normalizePath(raw);
  if (!normalized.ok) throw new Error(`${raw}: ${normalized.reason}`);
  return table.match("app.example.com", normalized.path, "GET")?.name ?? null;
}

describe("route path spellings", () => {
  it.each([
    [{ path: "/@admin" }, ["/@admin/x", "/%40admin/x", "/%40Admin"]],
    [{ path: "/$metadata" }, ["/$metadata", "/%24metadata", "/%24METADATA/x"]],
    [{ pathExact: "/api/users:export" }, ["/api/users:export", "/api/users%3Aexport", "/api/users%3aexport"]],
    [{ pathGlob: "/a/*/b+c" }, ["/a/x/b+c", "/a/x/b%2Bc", "/a/x/b%2bc"]],
    [{ pathRegex: "^/@admin(/.*)?$" }, ["/%40admin/x", "/%40ADMIN"]],
  ])("gives every escaped spelling of %j the protected rule", (match, paths) => {
    const table = tableFor(match);
    for (const raw of paths) expect(routeOf(table, raw), raw).toBe("admin");
  });

  it("matches a non-ASCII path written percent-encoded, however the request spells it", () => {
    const table = tableFor({ path: "/%C3%BCber-admin" });
    for (const raw of ["/über-admin", "/%C3%BCber-admin", "/%c3%bcber-admin/x", "/%C3%BCBER-ADMIN"])
      expect(routeOf(table, raw), raw).toBe("admin");
  });

  it("folds hex escapes of letters in a regex, so /Admin meets ^/\\x41dmin", () => {
    for (const pathRegex of ["^/\\x41dmin(/.*)?$", "^/\\u0061dmin(/.*)?$", "^/[\\x41][d]min(/.*)?$"]) {
      const table = tableFor({ pathRegex });
      for (const raw of ["/admin/x", "/Admin/x", "/ADMIN", "/%41dmin"])
        expect(routeOf(table, raw), `${pathRegex} ${raw}`).toBe("admin");
    }
  });

  it("accepts a configured escape exactly when the normaliser keeps that escape in request paths", () => {
    // The two rooms each hold the list of escapes the normaliser decodes; they must never disagree,
    // or a pattern with an escape could never match and its requests would fall to a looser rule.
    const lenient = createPathNormalizer(PATH_SHAPE_NAMES);
    for (let byte = 0x20; byte <= 0xff; byte++) {
      const hex = byte.toString(16).toUpperCase().padStart(2, "0");
      const normalized = lenient(`/x%${hex}y`);
      if (!normalized.ok) continue; // refused in every request (%2F, %5C, %7F): no path to match
      const kept = normalized.path.includes(`%${hex}`);
      expect({ hex, accepted: escapeProblem(hex) === null }).toEqual({ hex, accepted: kept });
    }
  });
});
