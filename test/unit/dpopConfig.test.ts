// The DPoP config (`providers.<name>.dpop`): defaults, the cross-field rules with key paths and a
// fix, and what it asks of Envoy (the `dpop` header in allowed_headers) and of `--workers` (Redis).
import { describe, expect, it } from "vitest";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { workersConfigProblems } from "../../src/app/workersConfigProblems.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";

const PROVIDER = { issuer: "https://idp.example.com", audiences: ["api"] };
const ROUTES = [{ name: "api", auth: "required" }];

const parsed = (provider: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseConfig({ providers: { corp: { ...PROVIDER, ...provider } }, routes: ROUTES, ...extra });

function config(provider: Record<string, unknown>, extra: Record<string, unknown> = {}): PortcullisConfig {
  const result = parsed(provider, extra);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

describe("the DPoP config", () => {
  it("is off unless enabled, with the full algorithm list, a 60 s window and no nonces by default", () => {
    expect(config({}).providers["corp"]!.dpop?.enabled).toBe(false);
    expect(config({ dpop: { enabled: true } }).providers["corp"]!.dpop).toEqual({
      enabled: true,
      algorithms: ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
      proofMaxAgeSeconds: 60,
      clockSkewSeconds: 5,
      nonce: { required: false, secret: null, lifetimeSeconds: 300 },
    });
  });

  it("refuses a symmetric or unknown proof algorithm with its key path", () => {
    const result = parsed({ dpop: { enabled: true, algorithms: ["HS256"] } });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual([
      expect.objectContaining({ path: "providers.corp.dpop.algorithms[0]" }),
    ]);
  });

  it("refuses a provider demanding DPoP-bound tokens whose proofs it does not check", () => {
    const result = parsed({ boundTokens: "dpop" });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.objectContaining({
        path: "providers.corp.boundTokens",
        message: expect.stringContaining("set dpop.enabled: true"),
      }),
    ]);
  });

  it("refuses a route demanding DPoP where none of its providers checks proofs", () => {
    const result = parseConfig({
      providers: { corp: PROVIDER },
      routes: [{ name: "api", auth: "required", require: { boundTokens: "dpop" } }],
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.objectContaining({ path: "routes[0].require.boundTokens" }),
    ]);
    const accepting = parseConfig({
      providers: { corp: PROVIDER, partner: { ...PROVIDER, issuer: "https://p.example.com", dpop: { enabled: true } } },
      routes: [
        { name: "any", auth: "required", require: { boundTokens: "dpop" } },
        { name: "named", auth: "required", providers: ["partner"], require: { boundTokens: "dpop" } },
      ],
    });
    expect(accepting.ok ? [] : accepting.problems).toEqual([]);
  });

  it("warns when replicas share Redis but each would generate its own nonce key", () => {
    const result = parsed(
      { dpop: { enabled: true, nonce: { required: true } } },
      { redis: { url: "redis://127.0.0.1:6379" } },
    );
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "providers.corp.dpop.nonce.secret" })]),
    );
    const keyed = parsed(
      { dpop: { enabled: true, nonce: { required: true, secret: "s".repeat(43) } } },
      { redis: { url: "redis://127.0.0.1:6379" } },
    );
    expect(keyed.warnings.filter((w) => w.path.includes("dpop"))).toEqual([]);
  });
});

describe("what DPoP asks of Envoy and of workers", () => {
  it("adds the dpop header to allowed_headers only when a provider enables DPoP", () => {
    expect(envoyAllowedHeaders(config({})).map((h) => h.name)).not.toContain("dpop");
    expect(envoyAllowedHeaders(config({ dpop: { enabled: true } })).map((h) => h.name)).toContain("dpop");
  });

  it("asks for Redis before several workers share DPoP proofs", () => {
    expect(workersConfigProblems(config({ dpop: { enabled: true } }), 2)).toEqual([
      expect.objectContaining({ path: "providers.corp.dpop.enabled", message: expect.stringContaining("redis.url") }),
    ]);
    const shared = config({ dpop: { enabled: true } }, { redis: { url: "redis://127.0.0.1:6379" } });
    expect(workersConfigProblems(shared, 2).filter((p) => p.path.includes("dpop"))).toEqual([]);
    const nonces = (secret: string | null) =>
      workersConfigProblems(
        config(
          { dpop: { enabled: true, nonce: { required: true, secret } } },
          { redis: { url: "redis://127.0.0.1:6379" } },
        ),
        2,
      ).filter((p) => p.path.includes("dpop"));
    expect(nonces(null)).toEqual([expect.objectContaining({ path: "providers.corp.dpop.nonce.secret" })]);
    expect(nonces("s".repeat(43))).toEqual([]);
  });
});
