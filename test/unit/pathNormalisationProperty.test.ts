// Property tests of path normalisation and matching over a grammar rich in dot segments, escapes
// (%2e %25 %3b %c0%ae ...), ';', letter case, slashes and unicode. The central property: the route
// a path gets is never looser than the route an upstream would give its own reading of that path
// (lower-cased, `;params` stripped, percent-decoded once more, trailing dots and spaces trimmed,
// one trailing slash toggled).
// Runs: PORTCULLIS_PROPERTY_RUNS (bin/fuzz), else the default below; fast-check prints the seed and
// the shrunk counterexample on failure, and vitest shows that message.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PolicyConfig, RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { createPathNormalizer, normalizePath, PATH_SHAPE_NAMES } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { NO_REQUIREMENTS } from "../harness/noRequirements.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";

const RUNS = propertyRuns(5000);

const UNITS = [
  "a",
  "A",
  "admin",
  "Admin",
  "ADMIN",
  "aDmIn",
  "docs",
  "DOCS",
  "api",
  "x",
  "Y",
  "1",
  "-",
  "_",
  "~",
  ".",
  "..",
  "...",
  "%2e",
  "%2E",
  "%2e%2e",
  ".%2e",
  "%2E.",
  "%252e",
  "%25",
  "%2561",
  "%41",
  "%61",
  "%64min",
  ";",
  ";x",
  "x;y",
  "%3b",
  "%3B",
  "%3bjsessionid=1",
  "%20",
  "%09",
  "%2f",
  "%2F",
  "%5c",
  "\\",
  "%c0%ae",
  "%C0%AF",
  "%e0%80%ae",
  "%e2%82%ac",
  "%E2%82",
  "%ff",
  "%80",
  "%ED%A0%80",
  "%F0%9F%98%80",
  "é",
  "É",
  "\u{1F600}",
  "\u212A",
  "\u0130",
  " ",
  "\t",
  "%",
  "%g1",
  "/",
  "/",
  "/",
  "/",
  "//",
  "/./",
  "/../",
  "?",
  "?x=/../admin",
  "#",
  "#/admin",
  ":",
  "@",
  "=",
  "&",
  "+",
  "%21",
  "%24",
  "%26",
  "%27",
  "%28",
  "%29",
  "%2a",
  "%2A",
  "%2b",
  "%2C",
  "%3a",
  "%3A",
  "%3d",
  "%40",
  "%40admin",
  "%3f",
  "%23",
];

/** A request path: mostly starting with "/", built from the units above. */
const rawPath = fc
  .tuple(
    fc.constantFrom("/", "/", "/", "/admin/", "/Admin", "//", "", "x"),
    fc.array(fc.constantFrom(...UNITS), { maxLength: 12 }),
  )
  .map(([head, units]) => head + units.join(""));

// ---- independent oracles ---------------------------------------------------------------------------

/** What an accepted path must never hold, read with plain regexes (not the normaliser's code). */
function acceptedPathProblem(path: string): string | null {
  if (!path.startsWith("/")) return "does not start with /";
  if (/[^\x21-\x7e]/.test(path)) return "raw byte outside printable ASCII";
  if (/[\\;?#]/.test(path)) return "backslash, ';', '?' or '#'";
  if (/%(?![0-9A-F]{2})/.test(path)) return "an escape that is not %XX upper-case";
  if (/%(2[5Ff]|5[Cc]|3[Bb]|[01][0-9A-Fa-f]|7[Ff])/.test(path)) return "%25, %2F, %5C, %3B or an encoded control";
  if (/%(4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|3[0-9]|2[DE]|5F|7E)/.test(path)) return "an escaped unreserved character";
  if (/%(2[146-9A-C]|3[AD]|40)/.test(path)) return "an escaped sub-delim, ':' or '@'";
  if (/\/\//.test(path)) return "an empty segment";
  if (/\/\.\.?(\/|$)/.test(path)) return "a dot segment";
  if (/(\.|%20)(\/|$)/.test(path)) return "a segment ending in '.' or %20";
  try {
    decodeURIComponent(path);
  } catch {
    return "escapes that are not UTF-8";
  }
  return null;
}

/** Upstream readings of the path an upstream received (the normalised path, as Envoy forwards it). */
const READINGS: ReadonlyArray<readonly [string, (path: string) => string]> = [
  ["lower-cased (Express, case-insensitive routers)", (p) => p.toLowerCase()],
  ["';params' stripped from segments (Tomcat, Jetty, Spring)", (p) => p.replace(/;[^/]*/g, "")],
  [
    "percent-decoded once more (double-decoding upstreams)",
    (p) =>
      Buffer.from(
        p.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        "latin1",
      )
        .toString("latin1")
        // What it decoded is path text now: a `?` or `#` it made is not a query or fragment.
        .replace(/[^\x21-\x7e]|[?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`),
  ],
  ["trailing dots and spaces of segments trimmed (IIS, Windows)", (p) => p.replace(/(?:\.|%20)+(?=\/|$)/g, "")],
  [
    "trailing slash toggled (Express 5 strict: false, Rails, ASP.NET Core)",
    (p) => (p === "/" ? p : p.endsWith("/") ? p.slice(0, -1) : `${p}/`),
  ],
];

// ---- the route tables of the issue -----------------------------------------------------------------

const adminRole = { ...NO_REQUIREMENTS, roles: { anyOf: ["admin"], allOf: [] } };
const TABLES: ReadonlyArray<readonly [string, RouteConfig[], PolicyConfig]> = [
  [
    "rules: /admin needs a role, /docs public, the rest a login",
    [
      { name: "admin", match: { hosts: [], path: "/admin" }, auth: "required", providers: [], require: adminRole },
      { name: "docs", match: { hosts: [], path: "/docs" }, auth: "public", providers: [] },
      { name: "login", match: { hosts: [], path: null }, auth: "required", providers: [] },
    ],
    { mode: "rules" },
  ],
  [
    "blacklist: /admin needs a role, the rest public",
    [{ name: "admin", match: { hosts: [], path: "/admin" }, auth: null, providers: [], require: adminRole }],
    { mode: "blacklist" },
  ],
  [
    "globs and regexes",
    [
      {
        name: "admin",
        match: { hosts: [], path: null, pathGlob: "/**/admin/**" },
        auth: "required",
        providers: [],
        require: adminRole,
      },
      { name: "api", match: { hosts: [], path: null, pathRegex: "^/api/[a-z0-9]+$" }, auth: "required", providers: [] },
      { name: "open", match: { hosts: [], path: null }, auth: "public", providers: [] },
    ],
    { mode: "rules" },
  ],
  [
    "exact, regex and glob rules, the rest public",
    [
      {
        name: "admin",
        match: { hosts: [], path: null, pathExact: "/admin" },
        auth: "required",
        providers: [],
        require: adminRole,
      },
      { name: "api", match: { hosts: [], path: null, pathRegex: "^/admin/[a-z]+$" }, auth: "required", providers: [] },
      { name: "login", match: { hosts: [], path: null, pathGlob: "/*/admin" }, auth: "required", providers: [] },
      { name: "open", match: { hosts: [], path: null }, auth: "public", providers: [] },
    ],
    { mode: "rules" },
  ],
];

/** How much a route demands: a role > a login > nothing; no route at all is a denial (strictest). */
const STRICTNESS: Record<string, number> = { admin: 3, login: 2, api: 2, docs: 1, default: 1, open: 1 };
function strictness(table: RouteTable, path: string): number {
  const route = table.match("app.example.com", path, "GET");
  if (route === null) return 4;
  return route.name === "default" ? (route.auth === "public" ? 1 : 2) : (STRICTNESS[route.name] as number);
}

describe("path normalisation (property)", () => {
  it("never throws, and either accepts or gives a reason", () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const result = normalizePath(raw);
        if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });

  it("is idempotent: a normalised path normalises to itself", () => {
    fc.assert(
      fc.property(rawPath, fc.subarray([...PATH_SHAPE_NAMES]), (raw, allowed) => {
        const normalize = createPathNormalizer(allowed);
        const once = normalize(raw);
        if (!once.ok) return;
        expect(normalize(once.path)).toEqual({ ok: true, path: once.path });
      }),
      { numRuns: RUNS },
    );
  });

  it("accepts no path holding a refused shape (checked by independent regexes)", () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const result = normalizePath(raw);
        if (result.ok) expect(acceptedPathProblem(result.path), `${JSON.stringify(raw)} → ${result.path}`).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses a path exactly when a shape switch would be needed for it, shape by shape", () => {
    fc.assert(
      fc.property(rawPath, (raw) => {
        const strict = normalizePath(raw);
        const lenient = createPathNormalizer(PATH_SHAPE_NAMES)(raw);
        // Allowing shapes only ever lets more through, and never changes what a path normalises to.
        if (strict.ok) expect(lenient).toEqual(strict);
        if (!strict.ok && lenient.ok) expect(strict.reason).toMatch(/\(shape [a-zA-Z0-9]+, off by default\)$/);
      }),
      { numRuns: RUNS },
    );
  });

  for (const [name, routes, policy] of TABLES) {
    it(`matches a path no looser than any upstream reading of it (${name})`, () => {
      const table = new RouteTable(routes, policy);
      fc.assert(
        fc.property(rawPath, (raw) => {
          const normalized = normalizePath(raw);
          if (!normalized.ok) return; // refused before any rule: 400
          const own = strictness(table, normalized.path);
          for (const [reading, read] of READINGS) {
            const upstream = normalizePath(read(normalized.path));
            if (!upstream.ok) continue; // the upstream's reading names nothing a rule could protect better
            const theirs = strictness(table, upstream.path);
            expect(
              own,
              `${JSON.stringify(raw)} → ${normalized.path}; ${reading}: ${upstream.path}`,
            ).toBeGreaterThanOrEqual(theirs);
          }
        }),
        { numRuns: RUNS },
      );
    });
  }
});
