// Property test of the config parser on generated route configs: every input is either accepted or
// rejected with problems that each name a key path and say what is wrong; it never throws. An
// accepted config compiles (route table, path normaliser) and its table answers any request.
// Runs: PORTCULLIS_PROPERTY_RUNS (bin/fuzz), else the default below; fast-check prints the seed.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { createPathNormalizer } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";

const RUNS = propertyRuns(2000);

/** Plausible values and near misses for each field, plus anything at all now and then. */
const oddValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.string({ maxLength: 6 }),
  fc.constant([]),
  fc.constant({}),
);
const or = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 40, arbitrary: arb }, { weight: 1, arbitrary: oddValue as fc.Arbitrary<unknown> });
/** Mostly values the parser accepts, sometimes ones it must refuse. */
const mostly = <T>(good: readonly T[], bad: readonly T[]) =>
  fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });

const pathText = mostly(
  ["/api", "/Admin", "/docs", "/a.b/c"],
  ["/", "/admin/", "admin", "/a//b", "/a/../b", "/x?y", "/a b", "/caf\u00e9", "/a;b", ""],
);
const globText = mostly(["/docs/*/x", "/**", "/a/**/b", "/Files/*"], ["/a/**b", "files", "/a//*"]);
const regexText = mostly(
  ["^/api/.*$", "^/v[0-9]+/users$", "^/[A-Z]+$", "^/\\d+$", "^/a|/b$"],
  ["^/api/([a-z0-9]+-?)*/items$", "/no-anchors", "^(?=x)/a$", "^/a{1,64}$", "^/(a$"],
);
const hostText = mostly(
  ["app.example.com", "*.example.com", "APP.example.com", "x_y.example"],
  ["a..b", "host:443", "[::1]", "-bad"],
);
const methods = fc.uniqueArray(mostly(["GET", "HEAD", "POST", "DELETE"], ["", "G E T", "get"]), { maxLength: 3 });
const requireNode = fc.record(
  {
    scopes: or(fc.uniqueArray(mostly(["read", "write"], [""]), { maxLength: 2 })),
    roles: or(
      fc.oneof(
        fc.uniqueArray(fc.constantFrom("admin", "ops"), { minLength: 1, maxLength: 2 }),
        fc.record(
          {
            anyOf: fc.uniqueArray(fc.constantFrom("a", "b"), { minLength: 1 }),
            allOf: fc.uniqueArray(fc.constantFrom("c"), { minLength: 1 }),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    principal: or(mostly(["any", "user", "client"], ["robot"])),
    maxAge: or(fc.oneof(fc.integer({ min: 1, max: 31_536_000 }), fc.integer({ min: -5, max: 40_000_000 }))),
    claims: or(
      fc.oneof(
        fc.record({
          claim: fc.constantFrom("sub", "a.b"),
          equals: fc.oneof(fc.string({ maxLength: 3 }), fc.integer()),
        }),
        fc.record({ any: fc.constant([{ claim: "x", exists: true }]) }),
      ),
    ),
  },
  { requiredKeys: [] },
);
// Usually one path form, as a valid route has; sometimes two, which the parser must refuse.
const pathForm = fc.oneof(
  fc.record({ path: or(pathText) }),
  fc.record({ pathExact: or(pathText) }),
  fc.record({ pathGlob: or(globText) }),
  fc.record({ pathRegex: or(regexText) }),
  fc.constant({}),
  fc.record({ path: pathText, pathRegex: regexText }),
);
const matchNode = fc
  .tuple(
    fc.record(
      {
        host: or(fc.oneof(hostText, fc.uniqueArray(hostText, { maxLength: 3 }))),
        methods: or(methods),
        caseSensitive: or(mostly<unknown>([true, false, null], ["yes"])),
      },
      { requiredKeys: [] },
    ),
    pathForm,
  )
  .map(([rest, form]) => ({ ...rest, ...form }));
const routeNode = fc.record(
  {
    name: or(mostly(["admin", "api", "docs", "x", "y", "z"], ["default", "Bad Name"])),
    match: or(matchNode),
    auth: or(mostly(["required", "required", "optional", "public", null], ["sometimes"])),
    providers: or(fc.uniqueArray(mostly(["main"], ["other"]), { maxLength: 2 })),
    require: or(requireNode),
  },
  { requiredKeys: ["name", "auth"] },
);
const policyNode = fc.record(
  {
    mode: or(mostly(["rules", "whitelist", "blacklist"], ["graylist"])),
    allowPathShapes: or(
      fc.array(
        mostly(
          ["pathParameters", "encodedPercent", "trailingDot", "trailingWhitespace", "invalidUtf8"],
          ["semicolons"],
        ),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);
const rawConfig = fc
  .tuple(
    fc.record(
      {
        policy: or(policyNode),
        routes: or(
          fc.uniqueArray(or(routeNode), {
            minLength: 1,
            maxLength: 4,
            selector: (r) => (r as { name?: unknown } | null)?.name,
          }),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  )
  // Providers are given (routes that need one would all fail without); an unknown key now and then.
  .map(([config, bogus]) => ({
    providers: { main: { issuer: "https://idp.example.com", audiences: ["api"] } },
    ...config,
    ...(bogus ? { bogus: 1 } : {}),
  }));

describe("config parser (property)", () => {
  it("accepts a generated config or lists its problems by key path, and never throws", () => {
    let accepted = 0;
    fc.assert(
      fc.property(rawConfig, (raw) => {
        const result = parseConfig(raw);
        if (!result.ok) {
          expect(result.problems.length).toBeGreaterThan(0);
          for (const problem of result.problems) {
            expect(problem.path, JSON.stringify(problem)).toMatch(/^(\(root\)|[A-Za-z][\w.[\]"-]*)/);
            expect(problem.message.length, JSON.stringify(problem)).toBeGreaterThan(3);
          }
          return;
        }
        // An accepted config compiles, and its table answers whatever a request brings.
        accepted++;
        const table = new RouteTable(result.config.routes, result.config.policy);
        const normalize = createPathNormalizer(result.config.policy.allowPathShapes ?? []);
        for (const path of [
          "/",
          "/api/x",
          "/Admin/y",
          "/docs/a/x",
          "/v2/users",
          "/api/a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t/items!",
        ]) {
          const normalized = normalize(path);
          if (normalized.ok) table.match("app.example.com", normalized.path, "HEAD");
        }
      }),
      { numRuns: RUNS },
    );
    // The grammar must reach the accepting side too, or the compile half would test nothing.
    expect(accepted).toBeGreaterThan(RUNS / 50);
  });
});
