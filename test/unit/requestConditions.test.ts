import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { runExplain } from "../../src/cli/runExplain.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import { compileRequestConditions, queryParameters } from "../../src/core/compileRequestConditions.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";

// routes[].match.headers / .query / .sourceAddresses: parsed by the schema, compiled once, and
// tested after host, path and method; a condition only narrows its rule.
type Raw = Record<string, any>;
const providers = { corp: { issuer: "https://idp.example.com", audiences: ["api"] } };

function table(...routes: Raw[]): RouteTable {
  const result = parseCheckedConfig({ providers: structuredClone(providers), routes });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return new RouteTable(result.config.routes as RouteConfig[]);
}

function request(path: string, headers: Record<string, string> = {}, sourceAddress?: string) {
  return {
    headers: new Map(Object.entries(headers)),
    path,
    ...(sourceAddress === undefined ? {} : { sourceAddress }),
  };
}

const matched = (t: RouteTable, path: string, req: ReturnType<typeof request>) =>
  t.match("app.example.com", path.split("?")[0] as string, "GET", req)?.name ?? null;

const v2 = { name: "v2", match: { path: "/api", headers: [{ name: "X-Api-Version", equals: "2" }] }, auth: "required" };
const api = { name: "api", match: { path: "/api" }, auth: "required" };

describe("routes[].match.headers", () => {
  it("chooses the rule whose header equals the value, case-insensitive name, exact value", () => {
    const t = table(v2, api);
    expect(matched(t, "/api/x", request("/api/x", { "x-api-version": "2" }))).toBe("v2");
    expect(matched(t, "/api/x", request("/api/x", { "x-api-version": "02" }))).toBe("api");
    expect(matched(t, "/api/x", request("/api/x"))).toBe("api");
  });

  it("tests presence, absence and an anchored linear-time regex", () => {
    const t = table(
      { name: "debug", match: { headers: [{ name: "x-debug", present: true }] }, auth: "required" },
      {
        name: "plain",
        match: {
          headers: [
            { name: "x-tenant", matches: "^[a-z]+$" },
            { name: "x-debug", present: false },
          ],
        },
        auth: "required",
      },
    );
    expect(matched(t, "/", request("/", { "x-debug": "" }))).toBe("debug");
    expect(matched(t, "/", request("/", { "x-tenant": "acme" }))).toBe("plain");
    expect(matched(t, "/", request("/", { "x-tenant": "acme1" }))).toBeNull();
  });

  it("compiles a rule without conditions to nothing, so matching does no extra work for it", () => {
    expect(compileRequestConditions({ hosts: [], headers: [], query: [], sourceAddresses: [] } as never)).toBeNull();
  });

  it("never matches a rule with conditions when the caller gives no request to test", () => {
    expect(table(v2).match("app.example.com", "/api", "GET")).toBeNull();
  });
});

describe("routes[].match.query", () => {
  const t = table(
    { name: "csv", match: { path: "/r", query: [{ name: "format", equals: "a b" }] }, auth: "required" },
    { name: "rest", match: { path: "/r" }, auth: "required" },
  );

  it("reads the raw query, percent-decoded once with + as a space", () => {
    expect(matched(t, "/r?format=a+b", request("/r?format=a+b"))).toBe("csv");
    expect(matched(t, "/r?x=1&format=a%20b", request("/r?x=1&format=a%20b"))).toBe("csv");
    expect(matched(t, "/r?format=a%2520b", request("/r?format=a%2520b"))).toBe("rest");
  });

  it("fails closed on a parameter given twice or a query that does not decode", () => {
    expect(matched(t, "/r", request("/r?format=a+b&format=a+b"))).toBe("rest");
    expect(matched(t, "/r", request("/r?format=a+b&bad=%E0%A4"))).toBe("rest");
    expect(queryParameters("/r?a=1&a=2")?.get("a")).toBeNull();
  });
});

describe("routes[].match.sourceAddresses", () => {
  const t = table(
    { name: "office", match: { sourceAddresses: ["10.0.0.0/8", "fd00::/8"] }, auth: "optional" },
    { name: "world", match: {}, auth: "required" },
  );

  it("matches Envoy's source address in a block, an IPv4-mapped IPv6 peer as IPv4", () => {
    expect(matched(t, "/", request("/", {}, "10.1.2.3"))).toBe("office");
    expect(matched(t, "/", request("/", {}, "::ffff:10.1.2.3"))).toBe("office");
    expect(matched(t, "/", request("/", {}, "fd00::1"))).toBe("office");
    expect(matched(t, "/", request("/", {}, "192.0.2.1"))).toBe("world");
  });

  it("never reads x-forwarded-for, and an unknown address matches no block", () => {
    expect(matched(t, "/", request("/", { "x-forwarded-for": "10.0.0.1" }, "192.0.2.1"))).toBe("world");
    expect(matched(t, "/", request("/"))).toBe("world");
  });
});

describe("check-config: request conditions", () => {
  const check = (...routes: Raw[]) => parseCheckedConfig({ providers: structuredClone(providers), routes });

  it("rejects a condition with no test or two, an unanchored regex, and a bad block, with key paths", () => {
    const result = check({
      name: "a",
      match: {
        headers: [{ name: "x-a" }, { name: "x-b", equals: "1", present: true }, { name: "x-c", matches: "a" }],
        sourceAddresses: ["10.0.0.0/33"],
      },
      auth: "required",
    });
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.problems.map(formatIssue);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routes\[0\]\.match\.headers\[0\]: must have exactly one of equals, matches, present/),
        expect.stringMatching(/^routes\[0\]\.match\.headers\[1\]: must have exactly one of/),
        expect.stringMatching(/^routes\[0\]\.match\.headers\[2\]\.matches: must be anchored/),
        expect.stringMatching(/^routes\[0\]\.match\.sourceAddresses\[0\]: the prefix must be 0\.\.32/),
      ]),
    );
  });

  it("warns when a header condition is all that lets a client pick a public rule over a protected one", () => {
    const result = check(
      { name: "bypass", match: { path: "/api", headers: [{ name: "x-internal", equals: "1" }] }, auth: "public" },
      api,
    );
    expect(result.ok && result.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^routes\[0\]\.match\.headers: is the client's to send: .*routes\[1\] \(api\) \(auth required\)/,
      ),
    ]);
  });

  it("does not call a rule after a conditioned one unreachable", () => {
    const result = check(v2, api);
    expect(result.ok && result.warnings).toEqual([]);
  });
});

describe("explain: request conditions", () => {
  let dir = "";
  let config = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "portcullis-conditions-"));
    config = join(dir, "config.yaml");
    writeFileSync(
      config,
      `providers:
  demo: { issuer: "https://idp.example.com", audiences: [api], algorithms: [RS256], jwksUri: "https://idp.example.com/jwks" }
routes:
  - { name: probe, match: { path: /api, headers: [{ name: x-probe, equals: "yes" }] }, auth: public }
  - { name: api, match: { path: /api }, auth: required }
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function explain(...argv: string[]) {
    let stdout = "";
    const code = await runExplain(["--config", config, ...argv], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stdout += t) },
      env: {},
    });
    return { code, stdout };
  }

  it("shows which rule a header condition chose, and why the other was skipped", async () => {
    const chosen = await explain("-H", "x-probe: yes", "GET", "https://app.example.com/api/x");
    expect(chosen.stdout).toContain("probe");
    expect(chosen.code, chosen.stdout).toBe(0);
    const skipped = await explain("GET", "https://app.example.com/api/x");
    expect(skipped.stdout).toContain("probe: headers does not match");
    expect(skipped.code, skipped.stdout).toBe(3);
  });
});
