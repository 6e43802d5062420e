import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runExplain } from "../../src/cli/runExplain.ts";
import { createBenchSession } from "../../bench/createBenchSession.ts";

// The IdP's keys come from a JWKS file (--jwks): no network, the tokens are signed here.
const ISSUER = "https://idp.example.com";
const CONFIG = `providers:
  demo: { issuer: "${ISSUER}", audiences: [api], algorithms: [RS256] }
routes:
  - { name: health, match: { pathExact: /healthz }, auth: public }
  - { name: reports, match: { path: /reports }, auth: required, require: { scopes: [reports.read] } }
  - { name: admin, match: { path: /admin }, auth: required, require: { roles: [admin] } }
  - { name: acme, match: { path: /acme }, auth: required, require: { claims: { claim: org, equals: acme } } }
  - { name: feed, match: { path: /feed }, auth: optional }
  - { name: api, match: { path: /api }, auth: required }
`;

let dir = "";
let config = "";
let jwks = "";
let key: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-explain-"));
  config = join(dir, "config.yaml");
  writeFileSync(config, CONFIG);
  const pair = await generateKeyPair("RS256");
  key = pair.privateKey;
  otherKey = (await generateKeyPair("RS256")).privateKey;
  jwks = join(dir, "jwks.json");
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  writeFileSync(jwks, JSON.stringify({ keys: [jwk] }));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function token(
  claims: Record<string, unknown>,
  options: { signWith?: CryptoKey; exp?: number; aud?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: "alice", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(ISSUER)
    .setAudience(options.aud ?? "api")
    .setIssuedAt(now - 60)
    .setExpirationTime(options.exp ?? now + 600)
    .sign(options.signWith ?? key);
}

async function explain(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runExplain(["--config", config, "--jwks", jwks, ...argv], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, stdout, stderr };
}

const expired = async () => token({}, { exp: Math.floor(Date.now() / 1000) - 3600 });
const API = ["-H", "Accept: application/json"];

// Each row: the request, the exit code, and trace / response lines the text form must contain.
const TABLE: { name: string; args: () => Promise<string[]>; code: number; lines: string[] }[] = [
  {
    name: "a public route passes without a credential",
    args: async () => ["GET", "https://app.example.com/healthz"],
    code: 0,
    lines: [
      "  route: matched: health (auth public)",
      "  credential: not needed: public route",
      "  decision: allow: public on route health",
    ],
  },
  {
    name: "no route matches (rules mode denies)",
    args: async () => ["GET", "https://app.example.com/nowhere"],
    code: 3,
    lines: [
      "  path: normalised: /nowhere",
      "  rule: skipped: api: path does not match",
      "  route: none: no rule matches GET app.example.com",
      "response: 403 route_not_found",
    ],
  },
  {
    name: "an ambiguous path is refused before any rule sees it",
    args: async () => ["GET", "https://app.example.com/api/a%2Fb"],
    code: 3,
    lines: ["  path: invalid: encoded slash or backslash", "response: 400 path_invalid"],
  },
  {
    name: "a path whose dot segments lead to another rule",
    args: async () => ["GET", "https://app.example.com/api/%2e%2e/healthz"],
    code: 0,
    lines: ["  path: normalised: /healthz", "  route: matched: health (auth public)"],
  },
  {
    name: "no token on a required route",
    args: async () => [...API, "GET", "https://app.example.com/api/x"],
    code: 3,
    lines: ["  route: matched: api (auth required)", "  credential: token_missing", "response: 401 token_missing"],
  },
  {
    name: "a token signed by another key",
    args: async () => ["--token", await token({}, { signWith: otherKey }), "GET", "https://app.example.com/api/x"],
    code: 3,
    lines: ["  credential: signature_invalid", "response: 401 signature_invalid"],
  },
  {
    name: "an expired token",
    args: async () => ["--token", await expired(), "GET", "https://app.example.com/api/x"],
    code: 3,
    lines: ["  credential: token_expired", "response: 401 token_expired"],
  },
  {
    name: "a token for another audience",
    args: async () => ["--token", await token({}, { aud: "other" }), "GET", "https://app.example.com/api/x"],
    code: 3,
    lines: ["  credential: audience_mismatch", "response: 401 audience_mismatch"],
  },
  {
    name: "a missing scope",
    args: async () => ["--token", await token({ scope: "profile" }), "GET", "https://app.example.com/reports/1"],
    code: 3,
    lines: [
      "  credential: verified: bearer token from provider demo",
      "  requirement: failed: scopes: missing reports.read",
      "  requirements: insufficient_scope",
      "response: 403 insufficient_scope",
    ],
  },
  {
    name: "a missing role",
    args: async () => [
      "--token",
      await token({ realm_access: { roles: ["user"] } }),
      "GET",
      "https://app.example.com/admin",
    ],
    code: 3,
    lines: [
      "  requirement: failed: roles",
      "  requirements: requirement_failed: roles",
      "response: 403 requirement_failed",
    ],
  },
  {
    name: "a failed claim check",
    args: async () => ["--token", await token({ org: "other" }), "GET", "https://app.example.com/acme"],
    code: 3,
    lines: [
      "  requirement: failed: claims: org equals",
      "  requirements: requirement_failed: claims",
      "response: 403 requirement_failed",
    ],
  },
  {
    name: "an optional route without a credential",
    args: async () => ["GET", "https://app.example.com/feed"],
    code: 0,
    lines: [
      "  route: matched: feed (auth optional)",
      "  credential: none: anonymous on this route",
      "  decision: allow: anonymous on route feed",
    ],
  },
  {
    name: "a valid token meeting the route's scope",
    args: async () => ["--token", await token({ scope: "reports.read" }), "GET", "https://app.example.com/Reports/./1"],
    code: 0,
    lines: [
      "request: GET https://app.example.com /Reports/./1",
      "  path: normalised: /Reports/1",
      "  rule: skipped: health: path does not match",
      "  rule: matches: reports",
      "  route: matched: reports (auth required)",
      "  requirement: met: scopes",
      "  requirements: met",
      "  decision: allow: authenticated on route reports",
      "  upstream gets x-user-sub: alice",
    ],
  },
];

describe("portcullis explain", () => {
  for (const row of TABLE) {
    it(`traces ${row.name}`, async () => {
      const { code, stdout } = await explain(...(await row.args()));
      expect(code, stdout).toBe(row.code);
      for (const line of row.lines) expect(stdout).toContain(line);
    });
  }

  it("never prints the token, in text or JSON", async () => {
    const t = await token({ scope: "reports.read" });
    for (const json of [[], ["--json"]]) {
      const { stdout } = await explain(
        ...json,
        "--token",
        t,
        "-H",
        "Cookie: a=secret1",
        "GET",
        "https://app.example.com/reports",
      );
      expect(stdout).not.toContain(t);
      expect(stdout).not.toContain(t.split(".")[2]);
    }
  });

  it("never prints the signed identity assertion an upstream would get", async () => {
    const assertionConfig = join(dir, "assertion.yaml");
    writeFileSync(
      assertionConfig,
      `identity: { assertion: { issuer: "https://auth.example.com", keys: ["\${ASSERTION_KEY}"] } }
providers:
  demo: { issuer: "${ISSUER}", audiences: [api], algorithms: [RS256] }
routes:
  - { name: orders, match: { path: /orders }, auth: required, assertion: { enabled: true, audience: orders } }
`,
    );
    const key = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    for (const json of [[], ["--json"]]) {
      let stdout = "";
      const code = await runExplain(
        [
          "--config",
          assertionConfig,
          "--jwks",
          jwks,
          ...json,
          "--token",
          await token({}),
          "GET",
          "https://a.example.com/orders",
        ],
        { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true }, env: { ASSERTION_KEY: key } },
      );
      expect(code, stdout).toBe(0);
      expect(stdout).toMatch(/x-portcullis-assertion"?(: |",\s*")\(value not shown\)/);
      expect(stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    }
  });

  it("verifies a browser session cookie and keeps it from the upstream", async () => {
    const sessionKey = "k".repeat(43);
    const sessionConfig = join(dir, "session.yaml");
    writeFileSync(
      sessionConfig,
      `providers:
  demo: { issuer: "${ISSUER}", audiences: [api], algorithms: [RS256], clientId: web, redirectUri: "https://app.example.com/oauth2/callback" }
session: { keys: ["\${SESSION_KEY}"] }
routes:
  - { name: app, match: { path: / }, auth: required }
`,
    );
    const browser = createBenchSession({
      key: sessionKey,
      cookieName: "__Host-portcullis",
      provider: "demo",
      issuer: ISSUER,
      audience: "api",
      clientId: "web",
    });
    let stdout = "";
    const code = await runExplain(
      [
        "--config",
        sessionConfig,
        "--jwks",
        jwks,
        "--cookie",
        `${browser.cookieHeader}; theme=dark`,
        "GET",
        "https://app.example.com/",
      ],
      {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: () => true },
        env: { SESSION_KEY: sessionKey },
      },
    );
    expect(code, stdout).toBe(0);
    expect(stdout).toContain("  credential: verified: session from provider demo");
    expect(stdout).toContain("  decision: allow: authenticated on route app");
    expect(stdout).toContain("  upstream gets cookie: (value not shown)");
    expect(stdout).not.toContain(browser.sealed.slice(0, 40));
  });

  it("prints the trace, the decision and the response as JSON with --json", async () => {
    const { code, stdout } = await explain("--json", ...API, "GET", "https://app.example.com/api/x?q=1");
    expect(code).toBe(3);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out["request"]).toEqual({ method: "GET", scheme: "https", host: "app.example.com", path: "/api/x?q=1" });
    expect(out["trace"]).toEqual([
      { step: "path", outcome: "normalised", detail: "/api/x" },
      ...["health", "reports", "admin", "acme", "feed"].map((name) => ({
        step: "rule",
        outcome: "skipped",
        detail: `${name}: path does not match`,
      })),
      { step: "rule", outcome: "matches", detail: "api" },
      { step: "route", outcome: "matched", detail: "api (auth required)" },
      { step: "credential", outcome: "token_missing" },
      { step: "decision", outcome: "deny", detail: "401 token_missing on route api" },
    ]);
    expect(out["decision"]).toMatchObject({
      kind: "deny",
      route: "api",
      code: "token_missing",
      status: 401,
      headers: expect.arrayContaining([["www-authenticate", 'Bearer realm="portcullis"']]),
    });
  });

  it("reports usage errors with exit 2", async () => {
    let stderr = "";
    const code = await runExplain(["--config", "x.yaml", "--token", "a", "--cookie", "b", "GET", "https://a/"], {
      stdout: { write: () => true },
      stderr: { write: (t: string) => (stderr += t) },
      env: {},
    });
    expect(code).toBe(2);
    expect(stderr).toContain("error: --token and --cookie exclude each other");
  });
});
