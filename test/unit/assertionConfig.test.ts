// The signed assertion's config: a route that adds it needs Portcullis's issuer and the upstream's
// audience, a public route cannot add one, at most two keys, keys must be P-256 or Ed25519 private
// keys (never quoted), its header is not another identity header's, and a size bound its fixed
// claims would exhaust is refused; every problem with its key path.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";

type Raw = Record<string, any>;
const pem = (type: "ed25519" | "x25519") =>
  generateKeyPairSync(type as "ed25519")
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString();

const base = (): Raw => ({
  providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  identity: { assertion: { issuer: "https://auth.example.com", keys: [pem("ed25519")] } },
  routes: [
    { name: "open", match: { path: "/open" }, auth: "public" },
    { name: "orders", match: { path: "/orders" }, auth: "required", assertion: { enabled: true, audience: "orders" } },
  ],
});

function problemsOf(raw: Raw): string[] {
  const result = parseConfig(raw);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("identity.assertion config", () => {
  it("accepts a route with an issuer, an audience and a key", () => {
    const result = parseConfig(base());
    expect(result.ok, JSON.stringify(result.ok ? [] : result.problems)).toBe(true);
  });

  const invalid: [string, (r: Raw) => void, RegExp][] = [
    [
      "refuses a route that adds the assertion without Portcullis's issuer",
      (r) => delete r.identity.assertion.issuer,
      /^identity\.assertion\.issuer: is required: routes\[1\] \(orders\) adds a signed assertion; set Portcullis's public origin/,
    ],
    [
      "refuses an issuer that is not an origin",
      (r) => (r.identity.assertion.issuer = "https://auth.example.com/portcullis"),
      /^identity\.assertion\.issuer: must be an origin only/,
    ],
    [
      "refuses an assertion on without an audience",
      (r) => delete r.routes[1].assertion.audience,
      /^routes\[1\]\.assertion\.audience: is required: the audience \(aud\) of the upstream behind orders/,
    ],
    [
      "refuses the assertion on a public route",
      (r) => (r.routes[0].assertion = { enabled: true, audience: "x" }),
      /^routes\[0\]\.assertion\.enabled: is true on an auth: public route/,
    ],
    [
      "refuses more than two keys",
      (r) => r.identity.assertion.keys.push(pem("ed25519"), pem("ed25519")),
      /^identity\.assertion\.keys: holds more than 2 keys/,
    ],
    [
      "refuses a key of another kind without quoting it",
      (r) => (r.identity.assertion.keys = [pem("x25519")]),
      /^identity\.assertion\.keys\[0\]: must be a P-256 \(ES256\) or Ed25519 \(EdDSA\) key$/,
    ],
    [
      "refuses text that is no key without quoting it",
      (r) => (r.identity.assertion.keys = ["-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"]),
      /^identity\.assertion\.keys\[0\]: must be a PEM private key \(PKCS#8 or SEC1\) or a private JWK[^"]*$/,
    ],
    [
      "refuses a header another identity header uses",
      (r) => (r.identity.assertion.header = "x-user-sub"),
      /^identity\.assertion\.header: header "x-user-sub" is already used by identity\.headers\.sub/,
    ],
    [
      "refuses a size bound the fixed claims leave too little of",
      (r) => {
        r.identity.assertion.maxBytes = 512;
        r.routes[1].assertion.audience = `https://orders.example.com/${"a".repeat(200)}`;
      },
      /^identity\.assertion\.maxBytes: is 512: the fixed claims of routes\[1\] \(orders\) take \d+ bytes and leave under 256/,
    ],
    [
      "refuses a size bound above 8192",
      (r) => (r.identity.assertion.maxBytes = 9000),
      /^identity\.assertion\.maxBytes: must be 512\.\.8192/,
    ],
  ];
  for (const [name, edit, expected] of invalid) {
    it(name, () => {
      const raw = base();
      edit(raw);
      const problems = problemsOf(raw);
      expect(
        problems.some((p) => expected.test(p)),
        problems.join("\n"),
      ).toBe(true);
    });
  }

  it("turns the assertion on for every identifying route with identity.assertion.enabled, a route may opt out", () => {
    const raw = base();
    raw.identity.assertion = { ...raw.identity.assertion, enabled: true };
    raw.routes.push({ name: "legacy", match: { path: "/legacy" }, auth: "required", assertion: { enabled: false } });
    expect(problemsOf(raw)).toEqual([]);
    raw.routes.push({ name: "reports", match: { path: "/reports" }, auth: "required" });
    expect(problemsOf(raw)).toEqual([expect.stringMatching(/^routes\[3\]\.assertion\.audience: is required/)]);
  });

  it("warns that generated keys differ between replicas without keys or redis", () => {
    const raw = base();
    delete raw.identity.assertion.keys;
    const result = parseConfig(raw);
    expect(result.ok).toBe(true);
    expect(result.warnings.map(formatIssue)).toContainEqual(
      expect.stringMatching(
        /^identity\.assertion\.keys: is empty and no redis is configured: each process generates its own signing key/,
      ),
    );
  });
});
