import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { NO_EXCHANGE } from "../harness/noExchange.ts";

const providers = { corp: { issuer: "https://idp.example.com", audiences: ["api"] } };
type Raw = Record<string, any>;
const base = (): Raw => ({
  providers: structuredClone(providers),
  routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
});

function problems(result: ConfigResult): string[] {
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.problems.map(formatIssue);
}
function warnings(raw: Raw): string[] {
  const result = parseCheckedConfig(raw);
  expect(result.ok, result.ok ? "" : JSON.stringify(result.problems)).toBe(true);
  return result.warnings.map(formatIssue);
}
function routes(...list: Raw[]): Raw {
  return { providers: structuredClone(providers), routes: list };
}

// [name, edit of the valid base config, the one expected problem line]
const invalid: [string, (r: Raw) => void, RegExp][] = [
  [
    "rejects two path forms on one rule",
    (r) => (r.routes[0].match.pathGlob = "/api/*"),
    /^routes\[0\]\.match: has path and pathGlob: use exactly one of path, pathExact, pathGlob, pathRegex/,
  ],
  [
    "rejects an unanchored regex and says how to anchor it",
    (r) => (r.routes[0].match = { pathRegex: "/v[0-9]+/users" }),
    /^routes\[0\]\.match\.pathRegex: must be anchored: start it with "\^" and end it with "\$"/,
  ],
  [
    "rejects a regex whose final $ is escaped",
    (r) => (r.routes[0].match = { pathRegex: "^/price\\$" }),
    /^routes\[0\]\.match\.pathRegex: must be anchored/,
  ],
  [
    "rejects a regex longer than 512 characters",
    (r) => (r.routes[0].match = { pathRegex: `^/${"a".repeat(520)}$` }),
    /^routes\[0\]\.match\.pathRegex: must be at most 512 characters/,
  ],
  [
    "rejects a regex that does not compile",
    (r) => (r.routes[0].match = { pathRegex: "^/(a$" }),
    /^routes\[0\]\.match\.pathRegex: is not a valid regular expression/,
  ],
  [
    "rejects a glob with a wildcard inside a segment",
    (r) => (r.routes[0].match = { pathGlob: "/files/*.png" }),
    /^routes\[0\]\.match\.pathGlob: "\*" and "\*\*" must be whole segments .* use pathRegex/,
  ],
  [
    "rejects a glob that is not normalised",
    (r) => (r.routes[0].match = { pathGlob: "/a/../*" }),
    /^routes\[0\]\.match\.pathGlob: must be normalised/,
  ],
  [
    "rejects an exact path without a leading slash",
    (r) => (r.routes[0].match = { pathExact: "healthz" }),
    /^routes\[0\]\.match\.pathExact: must start with "\/" \(got "healthz"\)/,
  ],
  [
    "rejects an exact path with an escape the normaliser decodes",
    (r) => (r.routes[0].match = { pathExact: "/%61dmin" }),
    /^routes\[0\]\.match\.pathExact: must write "a" itself, not %61/,
  ],
  [
    "rejects non-ASCII in a prefix and gives its percent-encoded form",
    (r) => (r.routes[0].match = { path: "/über-admin" }),
    /^routes\[0\]\.match\.path: has non-ASCII characters, which never match: requests are matched in their percent-encoded UTF-8 form; write "\/%C3%BCber-admin"/,
  ],
  [
    "rejects non-ASCII in an exact path",
    (r) => (r.routes[0].match = { pathExact: "/café/admin" }),
    /^routes\[0\]\.match\.pathExact: has non-ASCII characters, .* write "\/caf%C3%A9\/admin"/,
  ],
  [
    "rejects non-ASCII in a glob",
    (r) => (r.routes[0].match = { pathGlob: "/é/*" }),
    /^routes\[0\]\.match\.pathGlob: has non-ASCII characters, .* write "\/%C3%A9\/\*"/,
  ],
  [
    "rejects non-ASCII in a regex and spells each character encoded",
    (r) => (r.routes[0].match = { pathRegex: "^/über(/.*)?$" }),
    /^routes\[0\]\.match\.pathRegex: has non-ASCII characters, .* \("ü" is %C3%BC\)/,
  ],
  [
    "rejects an escaped '@' in a prefix, which is matched decoded",
    (r) => (r.routes[0].match = { path: "/%40admin" }),
    /^routes\[0\]\.match\.path: must write "@" itself, not %40 \(the request path is matched decoded\)/,
  ],
  [
    "rejects an escaped '$' in an exact path",
    (r) => (r.routes[0].match = { pathExact: "/%24metadata" }),
    /^routes\[0\]\.match\.pathExact: must write "\$" itself, not %24/,
  ],
  [
    "rejects an escaped ':' in a glob",
    (r) => (r.routes[0].match = { pathGlob: "/api/users%3Aexport/*" }),
    /^routes\[0\]\.match\.pathGlob: must write ":" itself, not %3A/,
  ],
  [
    "rejects an escaped unreserved character in a prefix",
    (r) => (r.routes[0].match = { path: "/%61dmin" }),
    /^routes\[0\]\.match\.path: must write "a" itself, not %61/,
  ],
  [
    "rejects an escaped '@' in a regex and says how to write it",
    (r) => (r.routes[0].match = { pathRegex: "^/%40admin(/.*)?$" }),
    /^routes\[0\]\.match\.pathRegex: must match "@" as itself \(@\), not %40/,
  ],
  [
    "rejects an escaped '+' in a regex and gives it escaped",
    (r) => (r.routes[0].match = { pathRegex: "^/a%2Bb$" }),
    /^routes\[0\]\.match\.pathRegex: must match "\+" as itself \(\\\+\), not %2B/,
  ],
  [
    "rejects a legacy octal escape in a regex and suggests \\x41",
    (r) => (r.routes[0].match = { pathRegex: "^/\\101dmin(/.*)?$" }),
    /^routes\[0\]\.match\.pathRegex: has the legacy octal escape \\101 .* write the character as \\x41 or the letter A itself/,
  ],
  [
    "rejects a legacy octal escape in a regex class",
    (r) => (r.routes[0].match = { pathRegex: "^/[\\141-\\172]+$" }),
    /^routes\[0\]\.match\.pathRegex: has the legacy octal escape \\141 .* \\x61 or the letter a itself/,
  ],
  [
    "rejects an octal escape starting with \\0 in a regex",
    (r) => (r.routes[0].match = { pathRegex: "^/\\0101$" }),
    /^routes\[0\]\.match\.pathRegex: has the legacy octal escape \\010 /,
  ],
  [
    "rejects an exact path with a lower-case escape",
    (r) => (r.routes[0].match = { pathExact: "/a%2fb" }),
    /^routes\[0\]\.match\.pathExact: must write escapes as "%" and two upper-case hex digits/,
  ],
  [
    "rejects a method that is not a token",
    (r) => (r.routes[0].match.methods = ["GET", "GE T"]),
    /^routes\[0\]\.match\.methods\[1\]: must be an HTTP method name/,
  ],
  [
    "rejects the same method twice once upper-cased",
    (r) => (r.routes[0].match.methods = ["get", "GET"]),
    /^routes\[0\]\.match\.methods\[1\]: duplicate value/,
  ],
  [
    "rejects an unknown provider with the configured ones",
    (r) => (r.routes[0].providers = ["corp", "nope"]),
    /^routes\[0\]\.providers\[1\]: unknown provider "nope" \(configured: corp\); name a key of providers/,
  ],
  [
    "rejects duplicate route names",
    (r) => r.routes.push({ name: "api", match: { path: "/b" }, auth: "public" }),
    /^routes\[1\]\.name: duplicate route name "api" \(also routes\[0\]\); give each route its own name/,
  ],
  [
    "rejects a missing auth in rules mode",
    (r) => delete r.routes[0].auth,
    /^routes\[0\]\.auth: is required in rules mode: write auth: required, optional or public/,
  ],
  [
    "rejects an optional route when no provider is configured",
    (r) => {
      delete r.providers;
      r.routes[0].auth = "optional";
    },
    /^routes\[0\]\.auth: is "optional" but no provider is configured/,
  ],
  [
    "rejects requirements on a public route",
    (r) => {
      r.routes[0].auth = "public";
      r.routes[0].require = { scopes: ["api.read"] };
    },
    /^routes\[0\]\.require: has requirements but auth is public, so nobody is checked; set auth: required \(or optional\), or remove require/,
  ],
  [
    "rejects a step-up requirement on a public route",
    (r) => {
      r.routes[0].auth = "public";
      r.routes[0].require = { maxAge: 60 };
    },
    /^routes\[0\]\.require: has requirements but auth is public/,
  ],
  [
    "rejects principal outside its enum",
    (r) => (r.routes[0].require = { principal: "robot" }),
    /^routes\[0\]\.require\.principal: must be one of any, user, client \(got "robot"\)/,
  ],
  [
    "rejects an unknown requirement",
    (r) => (r.routes[0].require = { scope: ["a"] }),
    /^routes\[0\]\.require\.scope: unknown key; did you mean "scopes"\? \(allowed: scopes, roles, groups/,
  ],
  [
    "rejects roles that are neither a list nor a mapping",
    (r) => (r.routes[0].require = { roles: "admin" }),
    /^routes\[0\]\.require\.roles: has the wrong type: write a list of names .* \(got "admin"\)/,
  ],
  [
    "rejects a roles mapping without anyOf or allOf",
    (r) => (r.routes[0].require = { roles: {} }),
    /^routes\[0\]\.require\.roles: needs anyOf or allOf/,
  ],
  [
    "rejects an unknown key in a roles mapping",
    (r) => (r.routes[0].require = { roles: { oneOf: ["a"] } }),
    /^routes\[0\]\.require\.roles\.oneOf: unknown key \(allowed: anyOf, allOf\)/,
  ],
  [
    "rejects an empty allOf list",
    (r) => (r.routes[0].require = { groups: { allOf: [] } }),
    /^routes\[0\]\.require\.groups\.allOf: must be a non-empty list of names/,
  ],
  [
    "rejects a blank role name at its index",
    (r) => (r.routes[0].require = { roles: ["admin", " "] }),
    /^routes\[0\]\.require\.roles\[1\]: must be a non-empty name/,
  ],
  [
    "rejects a claim leaf without an operator",
    (r) => (r.routes[0].require = { claims: { claim: "tenant" } }),
    /^routes\[0\]\.require\.claims: needs one operator: equals, notEquals, contains, oneOf, notOneOf, exists, matches, endsWith/,
  ],
  [
    "rejects a claim leaf with two operators",
    (r) => (r.routes[0].require = { claims: { claim: "t", equals: "a", exists: true } }),
    /^routes\[0\]\.require\.claims: has equals and exists: use exactly one operator per check/,
  ],
  [
    "rejects a claim leaf without a claim, at its path in the tree",
    (r) => (r.routes[0].require = { claims: { all: [{ claim: "a", exists: true }, { any: [{ equals: "x" }] }] } }),
    /^routes\[0\]\.require\.claims\.all\[1\]\.any\[0\]\.claim: is required/,
  ],
  [
    "rejects all and a leaf in one node",
    (r) => (r.routes[0].require = { claims: { all: [{ claim: "a", exists: true }], claim: "b" } }),
    /^routes\[0\]\.require\.claims: has all and claim: a check is either all, any, not, or a claim leaf/,
  ],
  [
    "rejects an empty all list",
    (r) => (r.routes[0].require = { claims: { all: [] } }),
    /^routes\[0\]\.require\.claims\.all: must be a list of 1\.\.32 claim checks/,
  ],
  [
    "rejects an unknown key in a claim leaf",
    (r) => (r.routes[0].require = { claims: { claim: "a", equal: "x" } }),
    /^routes\[0\]\.require\.claims\.equal: unknown key/,
  ],
  [
    "rejects a mapping as a claim value",
    (r) => (r.routes[0].require = { claims: { claim: "a", equals: { x: 1 } } }),
    /^routes\[0\]\.require\.claims\.equals: must be a string, number or boolean/,
  ],
  [
    "rejects a non-boolean exists",
    (r) => (r.routes[0].require = { claims: { claim: "a", exists: "yes" } }),
    /^routes\[0\]\.require\.claims\.exists: must be true \(the claim must be present\) or false/,
  ],
  [
    "rejects a claim tree nested too deep",
    (r) => {
      let node: Raw = { claim: "a", exists: true };
      for (let i = 0; i < 7; i++) node = { all: [node] };
      r.routes[0].require = { claims: node };
    },
    /: nests deeper than 6 levels; flatten the tree/,
  ],
  [
    "rejects a maxAge of zero",
    (r) => (r.routes[0].require = { maxAge: 0 }),
    /^routes\[0\]\.require\.maxAge: must be an integer 1\.\.31536000 \(seconds\) or null \(got 0\)/,
  ],
  [
    "rejects a policy mode outside its enum",
    (r) => (r.policy = { mode: "allowlist" }),
    /^policy\.mode: must be one of rules, whitelist, blacklist \(got "allowlist"\)/,
  ],
  [
    "rejects whitelist mode without a provider",
    (r) => {
      delete r.providers;
      r.policy = { mode: "whitelist" };
      r.routes[0].auth = "public";
    },
    /^policy\.mode: is whitelist: every request no route lists needs a credential, but no provider is configured/,
  ],
  [
    "reserves the name default in whitelist mode",
    (r) => {
      r.policy = { mode: "whitelist" };
      r.routes[0].name = "default";
    },
    /^routes\[0\]\.name: "default" is the name of the catch-all rule whitelist mode appends; rename this route/,
  ],
  [
    "rejects requirements on a route that whitelist mode makes public",
    (r) => {
      r.policy = { mode: "whitelist" };
      delete r.routes[0].auth;
      r.routes[0].require = { roles: ["a"] };
    },
    /^routes\[0\]\.require: has requirements but auth is public \(the whitelist mode default\)/,
  ],
];

describe("route config: one problem per invalid config, with its key path and a fix", () => {
  it.each(invalid)("%s", (_name, edit, expected) => {
    const raw = base();
    edit(raw);
    const lines = problems(parseCheckedConfig(raw));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
  });

  it("does not quote a requirement value that came from an environment variable", () => {
    const raw = base();
    raw.routes[0].require = { maxAge: "secret-ish" };
    const result = parseCheckedConfig(raw, { secretPaths: new Set(["routes[0].require.maxAge"]) });
    expect(problems(result)).toEqual(["routes[0].require.maxAge: must be an integer 1..31536000 (seconds) or null"]);
  });

  it("parses every requirement into its defaulted shape", () => {
    const raw = base();
    raw.routes[0].match = { host: ["API.example.com"], pathRegex: "^/v[0-9]+/users$", methods: ["get", "HEAD"] };
    raw.routes[0].require = {
      scopes: ["api.read"],
      roles: ["admin", "ops"],
      groups: { allOf: ["eng"], anyOf: ["a", "b"] },
      audiences: ["api://orders"],
      clients: ["demo-cli"],
      principal: "user",
      claims: {
        all: [
          { claim: "tenant", equals: "acme" },
          {
            any: [
              { claim: "org.tier", oneOf: ["gold", 3] },
              { claim: "email_verified", exists: true },
            ],
          },
        ],
      },
      acr: ["urn:portcullis:loa:2"],
      amr: ["otp"],
      maxAge: 300,
    };
    const result = parseCheckedConfig(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.routes[0]).toEqual({
      name: "api",
      match: {
        hosts: ["api.example.com"],
        path: null,
        pathExact: null,
        pathGlob: null,
        pathRegex: "^/v[0-9]+/users$",
        methods: ["GET", "HEAD"],
        caseSensitive: null,
        headers: [],
        query: [],
        sourceAddresses: [],
        sni: [],
        time: null,
      },
      auth: "required",
      providers: [],
      forwardRequestHeaders: [],
      mode: "enforce",
      exchange: NO_EXCHANGE,
      tokenSource: { header: null, cookie: null, query: null },
      responseHeaders: {},
      denial: { html: null, htmlFile: null, json: null },
      forwardToken: { enabled: false, token: "access", header: "authorization" },
      apiKeys: false,
      require: {
        scopes: ["api.read"],
        roles: { anyOf: ["admin", "ops"], allOf: [] },
        groups: { anyOf: ["a", "b"], allOf: ["eng"] },
        audiences: ["api://orders"],
        clients: ["demo-cli"],
        principal: "user",
        claims: {
          all: [
            { claim: "tenant", equals: "acme" },
            {
              any: [
                { claim: "org.tier", oneOf: ["gold", 3] },
                { claim: "email_verified", exists: true },
              ],
            },
          ],
        },
        acr: ["urn:portcullis:loa:2"],
        amr: ["otp"],
        maxAge: 300,
        boundTokens: null,
        request: { headers: [], query: [], sourceAddresses: [], sni: [], time: null },
      },
      deny: [],
      defaults: true,
      assertion: { enabled: null, audience: null },
      mtls: { trustForwardedClientCert: false, forwardedClientCertElements: "one", clients: [] },
    });
    expect(Object.isFrozen(result.config.routes[0]?.require?.claims)).toBe(true);
  });

  it("leaves auth null for the mode to fill in whitelist and blacklist mode", () => {
    const result = parseCheckedConfig({
      providers,
      policy: { mode: "blacklist" },
      routes: [{ name: "a", match: { path: "/a" } }],
    });
    expect(result.ok && result.config.routes[0]?.auth).toBeNull();
  });
});

describe("route config: reachability warnings", () => {
  it("warns that a rule inside an earlier prefix is unreachable, naming both", () => {
    expect(
      warnings(
        routes(
          { name: "api", match: { path: "/api" }, auth: "required" },
          { name: "health", match: { pathExact: "/api/health" }, auth: "public" },
        ),
      ),
    ).toEqual([
      "routes[1]: is unreachable: routes[0] (api) matches every request it would; move it above routes[0], narrow routes[0], or remove it",
    ]);
  });

  it("warns when a wildcard host and a wider method set cover a later rule", () => {
    expect(
      warnings(
        routes(
          { name: "wild", match: { host: "*.example.com", path: "/", methods: ["GET", "POST"] }, auth: "required" },
          {
            name: "api-get",
            match: { host: ["a.example.com", "*.b.example.com"], pathGlob: "/x/*", methods: ["GET"] },
            auth: "public",
          },
        ),
      ),
    ).toEqual([expect.stringMatching(/^routes\[1\]: is unreachable: routes\[0\] \(wild\)/)]);
  });

  it("warns when an earlier glob or regex covers a later exact path", () => {
    expect(
      warnings(
        routes(
          { name: "glob", match: { pathGlob: "/files/*/meta" }, auth: "required" },
          { name: "regex", match: { pathRegex: "^/v[0-9]+$" }, auth: "required" },
          { name: "one", match: { pathExact: "/files/a/meta" }, auth: "public" },
          { name: "two", match: { pathExact: "/v2" }, auth: "public" },
          { name: "deep", match: { pathGlob: "/files/x/**" }, auth: "public" },
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^routes\[2\]: is unreachable: routes\[0\] \(glob\)/),
      expect.stringMatching(/^routes\[3\]: is unreachable: routes\[1\] \(regex\)/),
      expect.stringMatching(/^routes\[4\]: is partly shadowed: routes\[0\] \(glob\) comes first/),
    ]);
  });

  it("warns that a rule is partly shadowed when an earlier rule takes some of its requests", () => {
    expect(
      warnings(
        routes(
          { name: "reads", match: { path: "/api", methods: ["GET"] }, auth: "public" },
          { name: "admin", match: { path: "/api/admin" }, auth: "required" },
        ),
      ),
    ).toEqual([
      "routes[1]: is partly shadowed: routes[0] (reads) comes first and decides the requests both match; move this route above it if it should decide them",
    ]);
  });

  it("counts further earlier rules that shadow part of the same rule", () => {
    expect(
      warnings(
        routes(
          { name: "a", match: { host: "a.example.com", path: "/" }, auth: "public" },
          { name: "b", match: { path: "/", methods: ["GET"] }, auth: "public" },
          { name: "rest", match: { host: ["a.example.com", "c.example.com"], path: "/x" }, auth: "required" },
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^routes\[1\]: is partly shadowed: routes\[0\] \(a\) comes first/),
      expect.stringMatching(
        /^routes\[2\]: is partly shadowed: routes\[0\] \(a\) \(and 1 more earlier route\(s\)\) comes first/,
      ),
    ]);
  });

  it("does not warn about a general fallback after specific rules", () => {
    expect(
      warnings(
        routes(
          { name: "public", match: { path: "/public" }, auth: "public" },
          { name: "health", match: { pathExact: "/healthz", methods: ["GET"] }, auth: "public" },
          { name: "rest", match: {}, auth: "required" },
        ),
      ),
    ).toEqual([]);
  });

  it("does not warn about rules on hosts that cannot overlap", () => {
    expect(
      warnings(
        routes(
          { name: "a", match: { host: "*.a.example.com", path: "/" }, auth: "public" },
          { name: "b", match: { host: ["a.example.com", "x.b.example.com"], path: "/" }, auth: "required" },
        ),
      ),
    ).toEqual([]);
  });

  it("does not warn when it cannot decide an overlap (a regex against a glob)", () => {
    expect(
      warnings(
        routes(
          { name: "re", match: { pathRegex: "^/files/.*$" }, auth: "public" },
          { name: "glob", match: { pathGlob: "/files/*/meta" }, auth: "required" },
        ),
      ),
    ).toEqual([]);
  });

  it("warns when a listed rule matches everything and so turns off the mode's catch-all", () => {
    expect(
      warnings({
        ...routes({ name: "a", match: { path: "/a" } }, { name: "all", match: {} }),
        policy: { mode: "whitelist" },
      }),
    ).toEqual([
      "routes[1]: matches every request, so the catch-all rule whitelist mode appends (default, auth: required) is never reached; give it a match or remove it",
    ]);
    expect(warnings({ ...routes({ name: "all", match: { pathGlob: "/**" } }), policy: { mode: "blacklist" } })).toEqual(
      [
        expect.stringMatching(
          /^routes\[0\]: matches every request, so the catch-all rule blacklist mode appends \(default, auth: public\)/,
        ),
      ],
    );
    expect(warnings(routes({ name: "all", match: {}, auth: "required" }))).toEqual([]);
  });

  it("warns that a later rule whose path differs only in letter case from an earlier protected prefix is unreachable", () => {
    expect(
      warnings(
        routes(
          { name: "admin", match: { path: "/admin" }, auth: "required" },
          { name: "admin-x", match: { pathExact: "/Admin/x" }, auth: "public" },
          { name: "admin-y", match: { pathGlob: "/ADMIN/*" }, auth: "required", require: { roles: ["admin"] } },
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^routes\[1\]: is unreachable: routes\[0\] \(admin\) matches every request it would/),
      expect.stringMatching(/^routes\[2\]: is unreachable: routes\[0\] \(admin\) matches every request it would/),
    ]);
  });

  it("does not let an exact-case public rule or a caseSensitive rule cover a differently cased later rule", () => {
    expect(
      warnings(
        routes(
          { name: "pub", match: { pathExact: "/docs" }, auth: "public" },
          { name: "pub-upper", match: { pathExact: "/Docs" }, auth: "public" },
          { name: "strict", match: { path: "/api", caseSensitive: true }, auth: "required" },
          { name: "upper-api", match: { pathExact: "/API/x" }, auth: "public" },
        ),
      ),
    ).toEqual([]);
  });

  it("says a case-insensitive later rule is only partly shadowed by an earlier rule that matches one casing", () => {
    expect(
      warnings(
        routes(
          { name: "pub", match: { pathExact: "/x" }, auth: "public" },
          { name: "x", match: { pathExact: "/x" }, auth: "required" },
        ),
      ),
    ).toEqual([expect.stringMatching(/^routes\[1\]: is partly shadowed: routes\[0\] \(pub\) comes first/)]);
  });

  it("names the rule that takes the other trailing-slash spelling of a later exact path first, and says what to do", () => {
    expect(
      warnings(
        routes(
          { name: "login", match: { pathExact: "/x" }, auth: "required" },
          { name: "x-admin", match: { pathExact: "/x/" }, auth: "required", require: { roles: ["admin"] } },
        ),
      ),
    ).toEqual([
      'routes[1]: is unreachable: routes[0] (login) comes first and, not being public, also matches its path with one trailing slash toggled, so it takes "/x/" first ' +
        "(an upstream that serves the two spellings as different resources would get this route's requests under routes[0]'s requirements); " +
        "put this route above routes[0], or merge the two into one rule",
    ]);
  });

  it("names the other trailing-slash spelling for a later glob or regex that only matches it, and an earlier case-sensitive rule", () => {
    expect(
      warnings(
        routes(
          { name: "a", match: { pathExact: "/a" }, auth: "required" },
          { name: "a-slash", match: { pathRegex: "^/a/$" }, auth: "public" },
          { name: "b", match: { pathGlob: "/b/*" }, auth: "required" },
          { name: "b-slash", match: { pathGlob: "/b/c/" }, auth: "required" },
          { name: "c", match: { pathExact: "/c/", caseSensitive: true }, auth: "optional" },
          { name: "c-bare", match: { pathExact: "/c" }, auth: "required" },
        ),
      ),
    ).toEqual([
      expect.stringMatching(
        /^routes\[1\]: is unreachable: routes\[0\] \(a\) comes first and, not being public, also matches its path with one trailing slash toggled, so it takes "\/a\/" first/,
      ),
      expect.stringMatching(
        /^routes\[3\]: is unreachable: routes\[2\] \(b\) comes first .* so it takes "\/b\/c\/" first/,
      ),
      // c-bare also matches /C, which the case-sensitive c does not take: partly.
      expect.stringMatching(
        /^routes\[5\]: is partly shadowed: routes\[4\] \(c\) comes first .* so it takes "\/c" first .* put this route above routes\[4\], or merge the two into one rule$/,
      ),
    ]);
  });

  it("does not warn when an earlier public exact path leaves the other trailing-slash spelling to a later rule", () => {
    expect(
      warnings(
        routes(
          { name: "health", match: { pathExact: "/healthz" }, auth: "public" },
          { name: "health-slash", match: { pathExact: "/healthz/" }, auth: "public" },
        ),
      ),
    ).toEqual([]);
  });

  it("does not warn about a general fallback after a protected rule, whatever its case and slash settings", () => {
    expect(
      warnings(
        routes(
          { name: "users", match: { pathExact: "/api/users" }, auth: "required" },
          { name: "files", match: { pathGlob: "/files/*/meta" }, auth: "required" },
          { name: "api", match: { path: "/api" }, auth: "public" },
          { name: "files-all", match: { pathGlob: "/files/**" }, auth: "public" },
        ),
      ),
    ).toEqual([]);
  });

  it("counts HEAD as covered by an earlier rule that lists GET", () => {
    expect(
      warnings(
        routes(
          { name: "reads", match: { path: "/api", methods: ["GET"] }, auth: "required" },
          { name: "heads", match: { path: "/api/x", methods: ["HEAD"] }, auth: "required" },
          { name: "both", match: { path: "/api/y", methods: ["GET", "HEAD"] }, auth: "required" },
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^routes\[1\]: is unreachable: routes\[0\] \(reads\)/),
      expect.stringMatching(/^routes\[2\]: is unreachable: routes\[0\] \(reads\)/),
    ]);
  });

  it("says a GET rule after an earlier HEAD rule is partly shadowed, since it matches HEAD too", () => {
    expect(
      warnings(
        routes(
          { name: "heads", match: { path: "/api", methods: ["HEAD"] }, auth: "public" },
          { name: "reads", match: { path: "/api", methods: ["GET"] }, auth: "required" },
        ),
      ),
    ).toEqual([expect.stringMatching(/^routes\[1\]: is partly shadowed: routes\[0\] \(heads\) comes first/)]);
  });

  it("does not compare a rule with an earlier one whose match failed to parse", () => {
    const result = parseCheckedConfig(
      routes(
        { name: "bad", match: { pathRegex: "no-anchors" }, auth: "public" },
        { name: "api", match: { path: "/api" }, auth: "required" },
      ),
    );
    expect(result.warnings).toEqual([]);
  });
});

describe("check-config on a route policy", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-routes-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints reachability warnings on stderr with key paths and still exits 0", async () => {
    const path = join(dir, "routes.yaml");
    writeFileSync(
      path,
      [
        "providers:",
        "  corp: { issuer: https://idp.example.com, audiences: [api] }",
        "policy: { mode: whitelist }",
        "routes:",
        "  - name: docs",
        "    match: { path: /docs }",
        "  - name: docs-admin",
        "    match: { path: /docs/admin }",
        "    auth: required",
        "    require: { roles: [admin] }",
        "",
      ].join("\n"),
    );
    let stdout = "";
    let stderr = "";
    const code = await runCheckConfig(["--config", path], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: {},
    });
    expect(code).toBe(0);
    // docs-admin is protected, so it matches /DOCS/admin too, which the exact-case public docs rule does not take.
    expect(stderr).toContain(
      "warning: routes[1]: is partly shadowed: routes[0] (docs) comes first and decides the requests both match",
    );
    expect(stdout).toContain("warnings: 1");
  });
});
