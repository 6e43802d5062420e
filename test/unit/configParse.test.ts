import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { DEFAULT_IDENTITY_HEADER_NAMES } from "../harness/defaultIdentityHeaderNames.ts";
import { NO_DEFAULT_REQUIREMENTS, NO_REQUIREMENTS } from "../harness/noRequirements.ts";
import { NO_EXCHANGE } from "../harness/noExchange.ts";

const provider = { issuer: "https://idp.example.com", audiences: ["api"] };
const base = () => ({
  providers: { demo: { ...provider } },
  routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
});

function problems(result: ConfigResult): string[] {
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.problems.map(formatIssue);
}
function paths(result: ConfigResult): string[] {
  return result.ok ? [] : result.problems.map((p) => p.path);
}
function warnings(result: ConfigResult): string[] {
  return result.warnings.map(formatIssue);
}

describe("parseConfig: the acceptance case", () => {
  it("reports every problem at once with its key path", () => {
    const result = parseConfig({ routes: [{ match: { path: "admin" }, auth: "sometimes" }], bogus_key: 1 });
    expect(problems(result)).toEqual(
      expect.arrayContaining([
        'routes[0].match.path: must start with "/" (got "admin")',
        'routes[0].auth: must be one of required, optional, public (got "sometimes")',
        "routes[0].name: is required",
        "bogus_key: unknown key (allowed: listen, providers, policy, routes, identity, session, redis, tokenCache, shutdown, log, tracing, forwardAuth, admin, apiKeys)",
      ]),
    );
    expect(paths(result)).toHaveLength(4);
  });
});

describe("parseConfig: secrets in problems", () => {
  it("never quotes the user or password of a URL written where it does not belong", () => {
    const result = parseConfig({ redis: { url: "redis://admin:hunter2@cache:6379" } });
    const text = problems(result).join("\n");
    expect(text).toContain("redis.url: must not carry credentials");
    expect(text).toContain('"redis://***@cache:6379"');
    expect(text).not.toContain("hunter2");
  });
});

describe("parseConfig: defaults", () => {
  it("fills every default from the schema for a minimal config", () => {
    const result = parseConfig(base());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toEqual({
      listen: {
        grpc: { host: "0.0.0.0", port: 9191 },
        grpcTransport: "net",
        auth: { host: "0.0.0.0", port: 8181 },
        admin: { host: "127.0.0.1", port: 9464 },
        tls: {
          certFile: null,
          keyFile: null,
          clientCaFile: null,
          requireClientCertificate: true,
          minVersion: "TLSv1.2",
        },
      },
      providers: {
        demo: {
          name: "demo",
          issuer: "https://idp.example.com",
          audiences: ["api"],
          algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
          clockToleranceSeconds: 60,
          requireAccessTokenType: false,
          boundTokens: "none",
          dpop: {
            enabled: false,
            algorithms: ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
            proofMaxAgeSeconds: 60,
            clockSkewSeconds: 5,
            nonce: { required: false, secret: null, lifetimeSeconds: 300 },
          },
          maxTokenLifetimeSeconds: null,
          subjects: null,
          jwksUri: null,
          discovery: true,
          staticKeys: { jwks: null, jwksFile: null, pem: null },
          discoveryTimeoutMs: 5000,
          jwksTimeoutMs: 800,
          jwksCooldownSeconds: 30,
          jwksMaxAgeSeconds: 600,
          allowInsecureHttp: false,
          clientId: null,
          clientSecret: null,
          scopes: ["openid", "profile", "email"],
          consentScopes: [],
          redirectUri: null,
          requestTimeoutMs: 800,
          codeExchangeTimeoutMs: 5000,
          introspection: {
            enabled: false,
            endpoint: null,
            authMethod: "client_secret_basic",
            cacheTtlSeconds: 60,
            jwt: false,
            requireAudience: true,
          },
          preset: null,
          claimNamespace: null,
          roleClaims: null,
          groupClaims: null,
          authorizationParams: {},
          tokenIssuers: [],
          allowedTenants: [],
          allowAnyTenant: false,
          audienceClaim: "aud",
          accessTokenClaims: {},
          opaqueAccessTokens: false,
          logout: { method: "end_session", url: null, idTokenHint: false },
        },
      },
      policy: {
        mode: "rules",
        allowPathShapes: [],
        removeRequestHeaders: [
          "x-forwarded-host",
          "x-forwarded-prefix",
          "forwarded",
          "x-original-url",
          "x-rewrite-url",
          "x-http-method-override",
          "x-method-override",
          "x-http-method",
        ],
        defaults: { require: NO_DEFAULT_REQUIREMENTS },
        trustedForwardedHops: 0,
      },
      routes: [
        {
          name: "api",
          match: {
            hosts: [],
            path: "/api",
            pathExact: null,
            pathGlob: null,
            pathRegex: null,
            methods: [],
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
          assertion: { enabled: null, audience: null },
          exchange: NO_EXCHANGE,
          tokenSource: { header: null, cookie: null, query: null },
          responseHeaders: {},
          denial: { html: null, htmlFile: null, json: null },
          forwardToken: { enabled: false, token: "access", header: "authorization" },
          apiKeys: false,
          // Nothing required: the defaults the harness's NO_REQUIREMENTS stands for in other tests.
          require: NO_REQUIREMENTS,
          deny: [],
          defaults: true,
          mtls: { trustForwardedClientCert: false, forwardedClientCertElements: "one", clients: [] },
        },
      ],
      identity: {
        headers: DEFAULT_IDENTITY_HEADER_NAMES,
        roleClaims: ["roles", "realm_access.roles", "groups", "cognito:groups"],
        groupClaims: ["groups"],
        claimHeaders: {},
        context: { enabled: true, fields: { id: "sub", email: "email", scopes: "scopes", roles: "roles", exp: "exp" } },
        maxHeaderBytes: 4096,
        forwardAuthorization: false,
        assertion: {
          enabled: false,
          issuer: null,
          header: "x-portcullis-assertion",
          audience: null,
          ttlSeconds: 60,
          claims: ["sub", "email", "roles", "groups", "client_id"],
          maxBytes: 2048,
          algorithm: "ES256",
          keys: [],
          cacheMaxEntries: 10000,
        },
        metadata: { enabled: false, namespace: "portcullis", tenantClaim: null, claims: [], maxValueBytes: 256 },
      },
      session: {
        store: "cookie",
        keys: [],
        keysFile: null,
        cookieName: "__Host-portcullis",
        cookieDomain: null,
        lifetimeSeconds: 86400,
        idleTimeoutSeconds: null,
        maxTokenLifetimeSeconds: 86400,
        refreshWindowSeconds: 300,
        loginTimeoutSeconds: 600,
        maxPendingLogins: 5,
        allowedRedirectOrigins: [],
        postLogoutRedirect: "/",
      },
      redis: {
        url: null,
        sentinels: [],
        sentinelMaster: null,
        username: null,
        password: null,
        caFile: null,
        keyPrefix: "portcullis:",
        connectTimeoutMs: 2000,
        commandTimeoutMs: 500,
      },
      tokenCache: { maxEntries: 10000 },
      tracing: {
        enabled: false,
        endpoint: "http://127.0.0.1:4318/v1/traces",
        serviceName: "portcullis",
        sampleRatio: 1,
        exportTimeoutMs: 10000,
        headers: {},
      },
      forwardAuth: {
        enabled: false,
        proxy: "nginx",
        listen: null,
        path: "/oauth2/auth",
        trustedProxies: ["127.0.0.1/32", "::1/128"],
        headers: { method: null, uri: null, host: null, proto: null },
        loginUrlHeader: "x-auth-request-redirect",
      },
      shutdown: { graceSeconds: 10, drainSeconds: 5 },
      log: {
        level: "info",
        audit: false,
        traceRequests: {
          enabled: false,
          header: "x-portcullis-trace",
          trustedAddresses: [],
          secret: null,
          maxPerSecond: 10,
        },
      },
      admin: { api: { enabled: false, token: null } },
      apiKeys: { enabled: false, header: "x-api-key", queryParameter: null, keys: [], file: null },
    });
    expect(result.warnings).toEqual([]);
  });

  it("keeps given values and defaults only the missing keys of a section", () => {
    const result = parseConfig({ ...base(), identity: { headers: { sub: "x-sub" } }, listen: { grpc: "[::1]:0" } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.identity.headers).toEqual({
      sub: "x-sub",
      email: "x-user-email",
      roles: "x-user-roles",
      context: "x-user-context",
      clientId: "x-client-id",
    });
    expect(result.config.listen.grpc).toEqual({ host: "::1", port: 0 });
    expect(result.config.listen.auth).toEqual({ host: "0.0.0.0", port: 8181 });
  });

  it("treats an empty section (YAML null) as all defaults", () => {
    const result = parseConfig({ ...base(), identity: null, listen: null });
    expect(result.ok).toBe(true);
  });

  it("turns match.host into a lower-cased hosts list, from a string or a list", () => {
    const raw = base();
    raw.routes.push({ name: "web", match: { path: "/", host: "WWW.Example.com" } as never, auth: "public" });
    raw.routes.push({
      name: "wild",
      match: { path: "/", host: ["*.Example.org", "a.example.net"] } as never,
      auth: "public",
    });
    const result = parseConfig(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.routes.map((r) => r.match.hosts)).toEqual([
      [],
      ["www.example.com"],
      ["*.example.org", "a.example.net"],
    ]);
  });
});

describe("parseConfig: immutability", () => {
  it("returns a deeply frozen config", () => {
    const result = parseConfig(base());
    if (!result.ok) throw new Error("expected ok");
    const config = result.config;
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.routes[0]?.match.hosts)).toBe(true);
    expect(Object.isFrozen(config.providers.demo?.algorithms)).toBe(true);
    expect(() => {
      (config.providers.demo as { issuer: string }).issuer = "https://evil.example";
    }).toThrow(TypeError);
  });

  it("does not share default lists between two parses", () => {
    const a = parseConfig(base());
    const b = parseConfig(base());
    if (!a.ok || !b.ok) throw new Error("expected ok");
    expect(a.config.identity.roleClaims).not.toBe(b.config.identity.roleClaims);
  });
});

// One invalid config per rule, mapped to the key path that must be reported.
const invalid: [rule: string, mutate: (raw: Record<string, any>) => void, path: string, message?: RegExp][] = [
  [
    "rejects an unknown top-level key",
    (r) => (r.bogus_key = 1),
    "bogus_key",
    /unknown key \(allowed: listen, providers/,
  ],
  [
    "rejects an unknown provider key",
    (r) => (r.providers.demo.clientSecretz = "x"),
    "providers.demo.clientSecretz",
    /unknown key/,
  ],
  [
    "rejects an unknown route key",
    (r) => (r.routes[0].methods = ["GET"]),
    "routes[0].methods",
    /unknown key \(allowed: name, match, auth, providers, require, (.+, )?forwardRequestHeaders, exchange(, .+)?\)/,
  ],
  ["requires routes", (r) => delete r.routes, "routes", /is required/],
  ["rejects an empty routes list", (r) => (r.routes = []), "routes", /must not be empty/],
  [
    "rejects a route that is not a mapping",
    (r) => (r.routes = ["api"]),
    "routes[0]",
    /must be a mapping \(got "api"\)/,
  ],
  ["requires a route name", (r) => delete r.routes[0].name, "routes[0].name", /is required/],
  [
    "rejects a route name that is not a metric-safe label",
    (r) => (r.routes[0].name = "API v1"),
    "routes[0].name",
    /must match/,
  ],
  [
    "requires auth in rules mode",
    (r) => delete r.routes[0].auth,
    "routes[0].auth",
    /is required in rules mode: write auth: required, optional or public/,
  ],
  [
    "rejects a path without a leading slash",
    (r) => (r.routes[0].match.path = "api"),
    "routes[0].match.path",
    /must start with "\/" \(got "api"\)/,
  ],
  [
    "rejects a path with a trailing slash",
    (r) => (r.routes[0].match.path = "/api/"),
    "routes[0].match.path",
    /segment boundaries/,
  ],
  ["rejects a non-normalised path", (r) => (r.routes[0].match.path = "/a/../b"), "routes[0].match.path", /normalised/],
  [
    "rejects a host with a port",
    (r) => (r.routes[0].match.host = "api.example.com:443"),
    "routes[0].match.host",
    /host name/,
  ],
  [
    "rejects a bad host inside a list",
    (r) => (r.routes[0].match.host = ["ok.example", "bad host"]),
    "routes[0].match.host[1]",
  ],
  [
    "rejects an auth value outside the enum",
    (r) => (r.routes[0].auth = "sometimes"),
    "routes[0].auth",
    /must be one of required, optional, public \(got "sometimes"\)/,
  ],
  ["rejects a wrong type for a string", (r) => (r.routes[0].auth = 5), "routes[0].auth", /\(got 5\)/],
  [
    "rejects a route naming an unknown provider",
    (r) => (r.routes[0].providers = ["demo", "other"]),
    "routes[0].providers[1]",
    /unknown provider "other" \(configured: demo\)/,
  ],
  [
    "rejects duplicate route names",
    (r) => r.routes.push({ name: "api", match: { path: "/b" }, auth: "public" }),
    "routes[1].name",
    /duplicate route name "api" \(also routes\[0\]\)/,
  ],
  [
    "rejects a required route when no provider is configured",
    (r) => delete r.providers,
    "routes[0].auth",
    /no provider is configured/,
  ],
  [
    "rejects a provider name with capitals",
    (r) => (r.providers = { Demo: provider }),
    "providers.Demo",
    /name must match/,
  ],
  ["requires an issuer", (r) => delete r.providers.demo.issuer, "providers.demo.issuer", /is required/],
  [
    "rejects a relative issuer",
    (r) => (r.providers.demo.issuer = "idp.example.com"),
    "providers.demo.issuer",
    /absolute URL/,
  ],
  [
    "rejects an http issuer without allowInsecureHttp",
    (r) => (r.providers.demo.issuer = "http://idp.example.com"),
    "providers.demo.issuer",
    /https:\/\/.*allowInsecureHttp/,
  ],
  [
    "rejects an http jwksUri without allowInsecureHttp",
    (r) => (r.providers.demo.jwksUri = "http://idp.example.com/jwks"),
    "providers.demo.jwksUri",
    /https:\/\//,
  ],
  [
    "rejects an issuer with a query",
    (r) => (r.providers.demo.issuer = "https://idp.example.com/?x=1"),
    "providers.demo.issuer",
    /query/,
  ],
  ["requires audiences", (r) => delete r.providers.demo.audiences, "providers.demo.audiences", /is required/],
  [
    "rejects an empty audiences list",
    (r) => (r.providers.demo.audiences = []),
    "providers.demo.audiences",
    /must not be empty/,
  ],
  ["rejects a blank audience", (r) => (r.providers.demo.audiences = [" "]), "providers.demo.audiences[0]"],
  [
    "rejects the none algorithm",
    (r) => (r.providers.demo.algorithms = ["RS256", "none"]),
    "providers.demo.algorithms[1]",
    /must be one of RS256/,
  ],
  [
    "rejects HS256",
    (r) => (r.providers.demo.algorithms = ["HS256"]),
    "providers.demo.algorithms[0]",
    /\(got "HS256"\)/,
  ],
  [
    "rejects a duplicate algorithm",
    (r) => (r.providers.demo.algorithms = ["RS256", "RS256"]),
    "providers.demo.algorithms[1]",
    /duplicate/,
  ],
  [
    "rejects a clock tolerance above 300",
    (r) => (r.providers.demo.clockToleranceSeconds = 301),
    "providers.demo.clockToleranceSeconds",
    /must be 0\.\.300 \(got 301\)/,
  ],
  [
    "rejects a fractional timeout",
    (r) => (r.providers.demo.jwksTimeoutMs = 1000.5),
    "providers.demo.jwksTimeoutMs",
    /must be an integer/,
  ],
  [
    "rejects a number written as a string",
    (r) => (r.providers.demo.discoveryTimeoutMs = "5000"),
    "providers.demo.discoveryTimeoutMs",
    /must be an integer \(got "5000"\)/,
  ],
  [
    "rejects a non-boolean flag",
    (r) => (r.providers.demo.requireAccessTokenType = "yes"),
    "providers.demo.requireAccessTokenType",
    /true or false/,
  ],
  ["rejects a bad listen address", (r) => (r.listen = { grpc: "9191" }), "listen.grpc", /host:port/],
  ["rejects a listen port above 65535", (r) => (r.listen = { auth: "0.0.0.0:70000" }), "listen.auth", /0\.\.65535/],
  [
    "rejects two listeners on one port",
    (r) => (r.listen = { grpc: "0.0.0.0:8000", auth: "0.0.0.0:8000" }),
    "listen.auth",
    /already used by listen\.grpc/,
  ],
  [
    "rejects an upper-case header name",
    (r) => (r.identity = { headers: { sub: "X-User" } }),
    "identity.headers.sub",
    /lower-case/,
  ],
  [
    "rejects authorization as an owned header",
    (r) => (r.identity = { claimHeaders: { authorization: "sub" } }),
    "identity.claimHeaders.authorization",
    /must not be authorization/,
  ],
  [
    "rejects host as an owned header",
    (r) => (r.identity = { headers: { email: "host" } }),
    "identity.headers.email",
    /must not be authorization, host or cookie/,
  ],
  [
    "rejects cookie as an owned header",
    (r) => (r.identity = { claimHeaders: { cookie: "sub" } }),
    "identity.claimHeaders.cookie",
  ],
  [
    "rejects a hop-by-hop header",
    (r) => (r.identity = { headers: { roles: "connection" } }),
    "identity.headers.roles",
    /hop-by-hop/,
  ],
  [
    "rejects a pseudo-header",
    (r) => (r.identity = { claimHeaders: { ":path": "sub" } }),
    'identity.claimHeaders[":path"]',
    /pseudo-header/,
  ],
  [
    "rejects a header name with a space",
    (r) => (r.identity = { headers: { sub: "x user" } }),
    "identity.headers.sub",
    /HTTP header name/,
  ],
  [
    "rejects two owned headers with one name",
    (r) => (r.identity = { headers: { email: "x-user-sub" } }),
    "identity.headers.email",
    /already used by identity\.headers\.sub/,
  ],
  [
    "rejects a claim header that repeats a standard header",
    (r) => (r.identity = { claimHeaders: { "x-user-roles": "groups" } }),
    "identity.claimHeaders.x-user-roles",
    /already used by identity\.headers\.roles/,
  ],
  [
    "rejects an unknown context source",
    (r) => (r.identity = { context: { fields: { id: "subject" } } }),
    "identity.context.fields.id",
    /claim:<path>/,
  ],
  [
    "rejects maxHeaderBytes below 256",
    (r) => (r.identity = { maxHeaderBytes: 100 }),
    "identity.maxHeaderBytes",
    /256\.\.16384/,
  ],
  ["rejects a zero token cache", (r) => (r.tokenCache = { maxEntries: 0 }), "tokenCache.maxEntries", /1\.\.1000000/],
  ["rejects an unknown log level", (r) => (r.log = { level: "trace" }), "log.level", /debug, info, warn, error/],
  ["rejects a negative grace period", (r) => (r.shutdown = { graceSeconds: -1 }), "shutdown.graceSeconds"],
];

describe("parseConfig: one invalid config per rule", () => {
  for (const [rule, mutate, path, message] of invalid) {
    it(rule, () => {
      const raw: Record<string, any> = structuredClone(base());
      mutate(raw);
      const result = parseConfig(raw);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      const found = result.problems.filter((p) => p.path === path);
      expect(found, `problems: ${result.problems.map(formatIssue).join("; ")}`).toHaveLength(1);
      if (message) expect(found[0]?.message).toMatch(message);
    });
  }

  it("rejects a config that is not a mapping", () => {
    expect(paths(parseConfig(["routes"]))).toEqual(["(root)"]);
    expect(paths(parseConfig(null))).toEqual(["(root)"]);
  });
});

describe("parseConfig: messages never leak values they should not", () => {
  it("cuts a quoted value to 60 characters", () => {
    const raw: Record<string, any> = base();
    raw.routes[0].match.path = "x".repeat(500);
    const [message] = problems(parseConfig(raw));
    expect(message).toContain(`(got "${"x".repeat(60)}"…)`);
    expect(message).not.toContain("x".repeat(61));
  });

  it("does not quote the value of a path marked secret", () => {
    const raw: Record<string, any> = base();
    raw.providers.demo.issuer = "not a url s3cr3t";
    const result = parseConfig(raw, { secretPaths: new Set(["providers.demo.issuer"]) });
    expect(problems(result).join("\n")).not.toContain("s3cr3t");
    expect(paths(result)).toEqual(["providers.demo.issuer"]);
  });
});

describe("parseConfig: warnings", () => {
  it("warns when allowInsecureHttp is true and accepts the http issuer", () => {
    const raw: Record<string, any> = base();
    raw.providers.demo = { ...provider, issuer: "http://localhost:3000", allowInsecureHttp: true };
    const result = parseCheckedConfig(raw);
    expect(result.ok).toBe(true);
    expect(warnings(result)).toEqual([expect.stringMatching(/^providers\.demo\.allowInsecureHttp: is true/)]);
  });

  it("warns when the admin listener is not on loopback", () => {
    const result = parseCheckedConfig({ ...base(), listen: { admin: "0.0.0.0:9464" } });
    expect(result.ok).toBe(true);
    expect(warnings(result)).toEqual([expect.stringMatching(/^listen\.admin: is not on loopback/)]);
  });

  it("does not warn for an admin listener on ::1 or localhost", () => {
    expect(parseCheckedConfig({ ...base(), listen: { admin: "[::1]:9464" } }).warnings).toEqual([]);
    expect(parseCheckedConfig({ ...base(), listen: { admin: "localhost:9464" } }).warnings).toEqual([]);
  });

  it("warns about a route that an earlier route with the same hosts covers", () => {
    const raw: Record<string, any> = base();
    raw.routes.push({ name: "api-admin", match: { path: "/api/admin" }, auth: "public" });
    raw.routes.push({ name: "apix", match: { path: "/apix" }, auth: "public" });
    const result = parseCheckedConfig(raw);
    expect(result.ok).toBe(true);
    expect(warnings(result)).toEqual([
      expect.stringMatching(/^routes\[1\]: is unreachable: routes\[0\] \(api\) matches every request it would/),
    ]);
  });

  it("does not warn when the later route is on a host the earlier one does not match", () => {
    const raw: Record<string, any> = base();
    raw.routes[0].match.host = "a.example.com";
    raw.routes.push({ name: "b", match: { path: "/api", host: "b.example.com" }, auth: "public" });
    expect(parseCheckedConfig(raw).warnings).toEqual([]);
  });
});

describe("provider issuers", () => {
  it("rejects two providers with the same issuer, naming the second one's key path", () => {
    const result = parseConfig({
      providers: {
        a: { issuer: "https://idp.example.com", audiences: ["api"] },
        b: { issuer: "https://idp.example.com", audiences: ["api"] },
      },
      routes: [{ name: "r", match: { path: "/" }, auth: "required" }],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path)).toContain("providers.b.issuer");
  });
});
