// check-config on where a provider's keys come from: `discovery: false` needs jwksUri or staticKeys
// (one source, one kind of static key), static keys need `discovery: false`, a provider without
// discovery cannot do browser login, introspect without an endpoint or exchange tokens, and an
// inline JWK Set must be public keys in JSON; every problem with its key path.
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";

type Raw = Record<string, any>;
const JWK = {
  kty: "EC",
  crv: "P-256",
  x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
};

const base = (): Raw => ({
  providers: {
    internal: {
      issuer: "https://idp.internal.example",
      audiences: ["api"],
      discovery: false,
      staticKeys: { jwksFile: "/etc/keys.json" },
    },
  },
  routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
});

function problemsOf(raw: Raw): string[] {
  const result = parseConfig(raw);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("provider key sources in the config", () => {
  it("accepts a provider without discovery that names a JWK Set file, and one with a jwksUri", () => {
    expect(problemsOf(base())).toEqual([]);
    const raw = base();
    raw.providers.internal = {
      issuer: "https://idp.internal.example",
      audiences: ["api"],
      discovery: false,
      jwksUri: "https://idp.internal.example/keys",
    };
    expect(problemsOf(raw)).toEqual([]);
  });

  it("parses the new keys with their defaults", () => {
    const raw = base();
    raw.providers.internal = { issuer: "https://idp.example.com", audiences: ["api"] };
    const result = parseConfig(raw);
    expect(result.ok ? result.config.providers["internal"] : result.problems).toMatchObject({
      discovery: true,
      staticKeys: { jwks: null, jwksFile: null, pem: null },
      maxTokenLifetimeSeconds: null,
      subjects: null,
    });
  });

  const invalid: [string, (r: Raw) => void, RegExp][] = [
    [
      "refuses discovery: false without any source of keys",
      (r) => delete r.providers.internal.staticKeys,
      /^providers\.internal\.discovery: is false, so the keys must be given: set jwksUri/,
    ],
    [
      "refuses static keys on a provider that still uses discovery",
      (r) => (r.providers.internal.discovery = true),
      /^providers\.internal\.staticKeys: replaces discovery's keys: set discovery: false/,
    ],
    [
      "refuses two kinds of static keys at once",
      (r) => (r.providers.internal.staticKeys.pem = [{ file: "/etc/key.pem" }]),
      /^providers\.internal\.staticKeys: sets jwksFile and pem: keep exactly one of them/,
    ],
    [
      "refuses both jwksUri and static keys",
      (r) => (r.providers.internal.jwksUri = "https://idp.internal.example/keys"),
      /^providers\.internal\.jwksUri: contradicts staticKeys: keep one source of keys/,
    ],
    [
      "refuses browser login on a provider without discovery",
      (r) =>
        Object.assign(r.providers.internal, {
          clientId: "portcullis",
          redirectUri: "https://app.example.com/oauth2/callback",
        }),
      /^providers\.internal\.redirectUri: needs discovery: browser login uses the discovery document's/,
    ],
    [
      "refuses introspection without an endpoint on a provider without discovery",
      (r) =>
        Object.assign(r.providers.internal, {
          clientId: "portcullis",
          clientSecret: "s3cret-value",
          introspection: { enabled: true },
        }),
      /^providers\.internal\.introspection\.endpoint: is required with discovery: false/,
    ],
    [
      "refuses an inline JWK Set that is not JSON",
      (r) => (r.providers.internal.staticKeys = { jwks: "{keys: [" }),
      /^providers\.internal\.staticKeys\.jwks: is not JSON/,
    ],
    [
      "refuses an inline JWK Set holding a private key",
      (r) => (r.providers.internal.staticKeys = { jwks: JSON.stringify({ keys: [{ ...JWK, d: "secret" }] }) }),
      /^providers\.internal\.staticKeys\.jwks: holds private or symmetric key material/,
    ],
    [
      "refuses token exchange at a provider without discovery",
      (r) =>
        (r.routes[0].exchange = {
          enabled: true,
          audience: ["orders"],
          provider: "internal",
          clientId: "exchanger",
          clientSecret: "s3cret-value",
        }),
      /^routes\[0\]\.exchange\.provider: names providers\.internal, which has discovery: false/,
    ],
    [
      "refuses a maxTokenLifetimeSeconds of zero",
      (r) => (r.providers.internal.maxTokenLifetimeSeconds = 0),
      /^providers\.internal\.maxTokenLifetimeSeconds: must be whole seconds from 1 to 2592000/,
    ],
    ["refuses an empty subjects list", (r) => (r.providers.internal.subjects = []), /^providers\.internal\.subjects: /],
  ];
  for (const [name, change, expected] of invalid) {
    it(name, () => {
      const raw = base();
      change(raw);
      expect(problemsOf(raw)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    });
  }
});
