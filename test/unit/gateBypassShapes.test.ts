// The bypasses an attacker tried against a route table like the deployment's: `/admin/` needs the
// role admin, a catch-all only needs a login (and, in blacklist mode, everything else is public).
// Every path an upstream would serve as /admin/... must get the admin rule's decision or a 400, and
// every authority that is not one host[:port] a 400.
import { describe, expect, it } from "vitest";
import type { PolicyConfig, RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Gate, VerifyOutcome } from "../../src/core/Gate.ts";
import { createPathNormalizer, type PathShape } from "../../src/core/normalizePath.ts";
import { toAccessRequest } from "../../src/transport/toAccessRequest.ts";
import { outcomeOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { NO_REQUIREMENTS } from "../harness/noRequirements.ts";
import { PLAIN_IDENTITY } from "../harness/plainIdentityConfig.ts";

const identity = PLAIN_IDENTITY;

const adminRole = { ...NO_REQUIREMENTS, roles: { anyOf: ["admin"], allOf: [] } };

/** The table: `/admin` needs the role admin, everything else a login. */
const rulesTable: RouteConfig[] = [
  { name: "admin", match: { hosts: [], path: "/admin" }, auth: "required", providers: [], require: adminRole },
  { name: "login", match: { hosts: [], path: null }, auth: "required", providers: [] },
];
/** Blacklist mode: `/admin` needs the role, every other request is public. */
const blacklistTable: RouteConfig[] = [
  { name: "admin", match: { hosts: [], path: "/admin" }, auth: null, providers: [], require: adminRole },
];

const user: VerifyOutcome = {
  ok: true,
  provider: "corp",
  claims: { sub: "bob", roles: ["staff"], exp: 2_000_000_000 },
  expiresAt: 2_000_000_000,
};

function gateFor(routes: RouteConfig[], policy: PolicyConfig = { mode: "rules" }, allow: PathShape[] = []): Gate {
  return gateOver({ routes, policy, normalizePath: createPathNormalizer(allow), identity, tokens: { user } }).gate;
}

/** A request of the user above, unless `over` replaces its headers. */
function request(path: string, over: Partial<AccessRequest> = {}): AccessRequest {
  return checkRequest(path, { authorization: "Bearer user" }, over);
}

const SHAPED: ReadonlyArray<readonly [string, PathShape]> = [
  ["/admin;x/y", "pathParameters"],
  ["/admin;/y", "pathParameters"],
  ["/admin%3bx/y", "pathParameters"],
  ["/%2561dmin/x", "encodedPercent"],
  ["/admin./y", "trailingDot"],
  ["/admin%2e/y", "trailingDot"],
  ["/admin%20/y", "trailingWhitespace"],
  ["/%c0%ae%c0%ae/admin", "invalidUtf8"],
];

describe("a path an upstream serves as /admin/y never gets a looser decision than /admin/y", () => {
  for (const [mode, routes, policy] of [
    ["rules", rulesTable, { mode: "rules" }],
    ["blacklist", blacklistTable, { mode: "blacklist" }],
  ] as const) {
    it(`refuses each ambiguous shape with 400 path_invalid naming the shape (${mode} mode)`, async () => {
      const gate = gateFor(routes, policy);
      for (const [path, shape] of SHAPED) {
        const d = await gate.decide(request(path));
        expect(outcomeOf(d), path).toBe("path_invalid:-");
        expect(d.kind === "deny" && d.status, path).toBe(400);
        expect(d.kind === "deny" && d.detail, path).toContain(`shape ${shape}`);
      }
    });

    it(`gives /Admin/y the admin rule's decision, not the ${mode === "rules" ? "login" : "public"} catch-all (${mode} mode)`, async () => {
      const gate = gateFor(routes, policy);
      for (const path of ["/Admin/y", "/ADMIN/y", "/aDmIn", "/%41dmin/y"]) {
        expect(outcomeOf(await gate.decide(request(path))), path).toBe("requirement_failed:admin");
      }
      expect(outcomeOf(await gate.decide(request("/Admin/y", { headers: new Map() })))).toBe("token_missing:admin");
    });
  }

  it("lets each shape through only when its switch is on, and then matches what is left", async () => {
    for (const [path, shape] of SHAPED) {
      const others = SHAPED.map(([, s]) => s).filter((s) => s !== shape);
      expect(
        outcomeOf(await gateFor(rulesTable, { mode: "rules" }, others).decide(request(path))),
        `${path} with only the others on`,
      ).toBe("path_invalid:-");
      const d = await gateFor(rulesTable, { mode: "rules" }, [shape]).decide(request(path));
      expect(d.kind === "deny" ? d.code : "allow", `${path} with ${shape} on`).not.toBe("path_invalid");
    }
  });

  it("covers HEAD with a rule that lists GET", async () => {
    const routes: RouteConfig[] = [
      {
        name: "reports",
        match: { hosts: [], path: "/reports", methods: ["GET"] },
        auth: "required",
        providers: [],
        require: adminRole,
      },
      { name: "open", match: { hosts: [], path: null }, auth: "public", providers: [] },
    ];
    const gate = gateFor(routes);
    expect(outcomeOf(await gate.decide(request("/reports/q1", { method: "HEAD" })))).toBe("requirement_failed:reports");
    expect(outcomeOf(await gate.decide(request("/reports/q1", { method: "POST" })))).toBe("allow:open");
  });
});

describe("letter case", () => {
  const routesWith = (caseSensitive: boolean | null, auth: "required" | "public"): RouteConfig[] => [
    { name: "docs", match: { hosts: [], path: "/Docs", caseSensitive }, auth, providers: [] },
    { name: "rest", match: { hosts: [], path: null }, auth: "required", providers: [], require: adminRole },
  ];

  it("matches a public rule exactly by default, so /docs falls to the stricter rule after it", async () => {
    const gate = gateFor(routesWith(null, "public"));
    expect(outcomeOf(await gate.decide(request("/Docs/a")))).toBe("allow:docs");
    expect(outcomeOf(await gate.decide(request("/docs/a")))).toBe("requirement_failed:rest");
  });

  it("matches a public rule case-insensitively when caseSensitive is false", async () => {
    expect(outcomeOf(await gateFor(routesWith(false, "public")).decide(request("/docs/a")))).toBe("allow:docs");
  });

  it("matches a protected rule exactly when caseSensitive is true", async () => {
    const gate = gateFor(routesWith(true, "required"));
    expect(outcomeOf(await gate.decide(request("/Docs/a")))).toBe("allow:docs");
    expect(outcomeOf(await gate.decide(request("/DOCS/a")))).toBe("requirement_failed:rest");
  });

  it("folds exact paths, globs and regexes of a protected rule", async () => {
    const routes: RouteConfig[] = [
      {
        name: "exact",
        match: { hosts: [], path: null, pathExact: "/Admin/panel" },
        auth: "required",
        providers: [],
        require: adminRole,
      },
      {
        name: "glob",
        match: { hosts: [], path: null, pathGlob: "/files/*/Meta" },
        auth: "required",
        providers: [],
        require: adminRole,
      },
      {
        name: "regex",
        match: { hosts: [], path: null, pathRegex: "^/v[0-9]+/admin/.*$" },
        auth: "required",
        providers: [],
        require: adminRole,
      },
      { name: "open", match: { hosts: [], path: null }, auth: "public", providers: [] },
    ];
    const gate = gateFor(routes);
    expect(outcomeOf(await gate.decide(request("/admin/PANEL")))).toBe("requirement_failed:exact");
    expect(outcomeOf(await gate.decide(request("/FILES/x/meta")))).toBe("requirement_failed:glob");
    expect(outcomeOf(await gate.decide(request("/V2/Admin/users")))).toBe("requirement_failed:regex");
  });
});

describe("one host, one meaning", () => {
  const hostRoutes: RouteConfig[] = [
    {
      name: "admin-site",
      match: { hosts: ["admin.example.com"], path: null },
      auth: "required",
      providers: [],
      require: adminRole,
    },
    { name: "open", match: { hosts: [], path: null }, auth: "public", providers: [] },
  ];

  /** Through the Envoy adapter, as a CheckRequest would arrive. */
  function fromEnvoy(host: string): AccessRequest {
    return toAccessRequest({
      attributes: { request: { http: { method: "GET", host, path: "/", headers: { authorization: "Bearer user" } } } },
    });
  }

  it("denies with 400 host_invalid every authority that is not one host[:port]", async () => {
    const gate = gateFor(hostRoutes);
    for (const host of [
      "admin.example.com:443:80",
      "localhost..",
      "evil@localhost",
      "localhost,evil",
      "::1",
      "fe80::1:443",
      "admin.example.com..",
      "",
      "a b",
      "a%2eb",
      "[::1",
      "[::1]x",
      "h:0",
      "h:65536",
    ]) {
      const d = await gate.decide(fromEnvoy(host));
      expect(outcomeOf(d), JSON.stringify(host)).toBe("host_invalid:-");
      expect(d.kind === "deny" && d.status).toBe(400);
    }
  });

  it("says what is wrong with the authority in the log detail", async () => {
    const d = await gateFor(hostRoutes).decide(fromEnvoy("admin.example.com:443:80"));
    expect(d.kind === "deny" && d.detail).toBe(
      "more than one ':' (two ports, or an unbracketed IPv6 literal): \"admin.example.com:443:80\"",
    );
  });

  it("gives every valid spelling of a host that host's rule", async () => {
    const gate = gateFor(hostRoutes);
    for (const host of [
      "admin.example.com",
      "ADMIN.example.com",
      "admin.example.com.",
      "admin.example.com:443",
      "admin.example.com.:8443",
    ]) {
      expect(outcomeOf(await gate.decide(fromEnvoy(host))), host).toBe("requirement_failed:admin-site");
    }
    expect(outcomeOf(await gate.decide(fromEnvoy("[::1]:8443")))).toBe("allow:open");
  });
});

describe("trailing slash", () => {
  // The review's table: each protected rule, then a catch-all that only needs a login. Express 5
  // (strict: false), Rails and ASP.NET Core serve `/api/admin/` with the `/api/admin` handler.
  const routes: RouteConfig[] = [
    {
      name: "exact",
      match: { hosts: [], path: null, pathExact: "/api/admin" },
      auth: "required",
      providers: [],
      require: adminRole,
    },
    {
      name: "regex",
      match: { hosts: [], path: null, pathRegex: "^/v[0-9]+/users$" },
      auth: "required",
      providers: [],
      require: adminRole,
    },
    {
      name: "glob",
      match: { hosts: [], path: null, pathGlob: "/files/*/meta" },
      auth: "required",
      providers: [],
      require: adminRole,
    },
    { name: "prefix", match: { hosts: [], path: "/reports" }, auth: "required", providers: [], require: adminRole },
    {
      name: "slashed",
      match: { hosts: [], path: null, pathExact: "/panel/" },
      auth: "required",
      providers: [],
      require: adminRole,
    },
    { name: "login", match: { hosts: [], path: null }, auth: "required", providers: [] },
  ];

  it("gives a path with a trailing slash added the protected exact, regex and glob rule's decision", async () => {
    const gate = gateFor(routes);
    expect(outcomeOf(await gate.decide(request("/api/admin/")))).toBe("requirement_failed:exact");
    expect(outcomeOf(await gate.decide(request("/v1/users/")))).toBe("requirement_failed:regex");
    expect(outcomeOf(await gate.decide(request("/files/a/meta/")))).toBe("requirement_failed:glob");
  });

  it("gives a path without the trailing slash a rule written with one", async () => {
    const gate = gateFor(routes);
    expect(outcomeOf(await gate.decide(request("/panel/")))).toBe("requirement_failed:slashed");
    expect(outcomeOf(await gate.decide(request("/panel")))).toBe("requirement_failed:slashed");
  });

  it("toggles one slash only, and still folds letter case", async () => {
    const gate = gateFor(routes);
    expect(outcomeOf(await gate.decide(request("/API/Admin/")))).toBe("requirement_failed:exact");
    expect(outcomeOf(await gate.decide(request("/V2/USERS/")))).toBe("requirement_failed:regex");
    // `//` is merged by normalisation, so one toggle is all a normalised path can need.
    expect(outcomeOf(await gate.decide(request("/api/admin//")))).toBe("requirement_failed:exact");
    expect(outcomeOf(await gate.decide(request("/api/admin/x")))).toBe("allow:login");
    expect(outcomeOf(await gate.decide(request("/v1/users/7/")))).toBe("allow:login");
    expect(outcomeOf(await gate.decide(request("/files/a/meta/x")))).toBe("allow:login");
  });

  it("matches a prefix rule with and without the trailing slash", async () => {
    const gate = gateFor(routes);
    for (const path of ["/reports", "/reports/", "/reports/q1", "/reports/q1/"]) {
      expect(outcomeOf(await gate.decide(request(path))), path).toBe("requirement_failed:prefix");
    }
  });

  it("matches public rules exactly, so a toggled slash falls to the stricter rule after them", async () => {
    const open: RouteConfig[] = [
      { name: "health", match: { hosts: [], path: null, pathExact: "/healthz" }, auth: "public", providers: [] },
      {
        name: "status",
        match: { hosts: [], path: null, pathRegex: "^/status/[a-z]+$" },
        auth: "public",
        providers: [],
      },
      { name: "assets", match: { hosts: [], path: null, pathGlob: "/assets/*/app.js" }, auth: "public", providers: [] },
      { name: "login", match: { hosts: [], path: null }, auth: "required", providers: [] },
    ];
    const gate = gateFor(open);
    const anonymous = { headers: new Map<string, string>() };
    expect(outcomeOf(await gate.decide(request("/healthz", anonymous)))).toBe("allow:health");
    expect(outcomeOf(await gate.decide(request("/status/db", anonymous)))).toBe("allow:status");
    expect(outcomeOf(await gate.decide(request("/assets/v1/app.js", anonymous)))).toBe("allow:assets");
    for (const path of ["/healthz/", "/status/db/", "/assets/v1/app.js/"]) {
      expect(outcomeOf(await gate.decide(request(path, anonymous))), path).toBe("token_missing:login");
    }
  });

  it("never toggles the root path", async () => {
    // Hand-built rule (the parser refuses `//`): `/` with a slash added would be `//`.
    const gate = gateFor([
      {
        name: "double",
        match: { hosts: [], path: null, pathExact: "//" },
        auth: "required",
        providers: [],
        require: adminRole,
      },
      { name: "login", match: { hosts: [], path: null }, auth: "required", providers: [] },
    ]);
    expect(outcomeOf(await gate.decide(request("/")))).toBe("allow:login");
  });
});
