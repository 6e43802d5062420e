// check-config on `apiKeys` and routes[].apiKeys: digests only (hex or base64url SHA-256, never a key
// in clear), each digest and client id once, routes opting in only where keys are enabled and a
// credential is read, a place to read keys from; every problem with its key path.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { loadConfigFile } from "../../src/config/loadConfigFile.ts";
import { allowedHeaderPatterns } from "../../src/app/envoyAllowedHeaders.ts";
import { redactTokenParameters } from "../../src/app/redactTokenParameters.ts";

type Raw = Record<string, any>;
const digest = (key: string) => createHash("sha256").update(key).digest("hex");
const base = (): Raw => ({
  providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  routes: [{ name: "legacy", match: { path: "/legacy" }, auth: "required", apiKeys: true }],
  apiKeys: {
    enabled: true,
    queryParameter: "api_key",
    keys: [
      { clientId: "cron", sha256: digest("one") },
      { clientId: "batch", sha256: createHash("sha256").update("two").digest("base64url") },
    ],
  },
});

function problemsOf(raw: Raw): string[] {
  const result = parseConfig(raw);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("apiKeys in the config", () => {
  it("accepts hex and base64url digests and parses both to lower-case hex", () => {
    const result = parseConfig(base());
    expect(result.ok ? result.config.apiKeys?.keys.map((k) => k.sha256) : result.problems).toEqual([
      digest("one"),
      digest("two"),
    ]);
  });

  const invalid: [string, (r: Raw) => void, RegExp][] = [
    [
      "refuses a key in clear where a digest belongs",
      (r) => (r.apiKeys.keys[0].sha256 = "my-secret-api-key"),
      /^apiKeys\.keys\[0\]\.sha256: must be the SHA-256 digest of the key/,
    ],
    [
      "refuses a digest of the wrong length",
      (r) => (r.apiKeys.keys[0].sha256 = digest("one").slice(0, 63)),
      /^apiKeys\.keys\[0\]\.sha256: must be the SHA-256 digest/,
    ],
    [
      "refuses one digest twice, even written two ways",
      (r) => (r.apiKeys.keys[1].sha256 = createHash("sha256").update("one").digest("base64url")),
      /^apiKeys\.keys\[1\]\.sha256: is the digest of apiKeys\.keys\[0\] too/,
    ],
    [
      "refuses one client id twice",
      (r) => (r.apiKeys.keys[1].clientId = "cron"),
      /^apiKeys\.keys\[1\]\.clientId: is apiKeys\.keys\[0\]'s client id too/,
    ],
    [
      "refuses a route that opts in while keys are disabled",
      (r) => (r.apiKeys.enabled = false),
      /^routes\[0\]\.apiKeys: needs apiKeys\.enabled: true/,
    ],
    [
      "refuses keys on a public route",
      (r) => (r.routes[0].auth = "public"),
      /^routes\[0\]\.apiKeys: is set on an auth: public route/,
    ],
    [
      "refuses keys read from nowhere",
      (r) => Object.assign(r.apiKeys, { header: null, queryParameter: null }),
      /^apiKeys\.header: and apiKeys\.queryParameter are both null/,
    ],
    [
      "refuses an identity header as the key header",
      (r) => (r.apiKeys.header = "x-client-id"),
      /^apiKeys\.header: is a header Portcullis reads or sets/,
    ],
    [
      "refuses a query parameter behind a forward-auth proxy",
      (r) => (r.forwardAuth = { enabled: true, trustedProxies: ["127.0.0.1/32"] }),
      /^apiKeys\.queryParameter: cannot be removed by a forward-auth proxy/,
    ],
  ];
  for (const [name, change, expected] of invalid)
    it(name, () => {
      const raw = base();
      change(raw);
      const problems = problemsOf(raw);
      expect(
        problems.some((p) => expected.test(p)),
        problems.join("\n"),
      ).toBe(true);
    });

  it("never quotes a key written where a digest belongs", () => {
    const raw = base();
    raw.apiKeys.keys[0].sha256 = "my-secret-api-key";
    expect(problemsOf(raw).join("\n")).not.toContain("my-secret-api-key");
  });

  it("asks Envoy for the key header when a route accepts keys", () => {
    const result = parseConfig(base());
    if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
    expect(allowedHeaderPatterns(result.config)).toContainEqual({ exact: "x-api-key" });
  });

  it("redacts the key's query parameter in an explained path", () => {
    const result = parseConfig(base());
    if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
    expect(redactTokenParameters("/legacy/x?api_key=secret&a=1", result.config)).toBe(
      "/legacy/x?api_key=[redacted]&a=1",
    );
  });

  it("takes a digest from ${ENV} in a config file", () => {
    const dir = mkdtempSync(join(tmpdir(), "apikeys-"));
    try {
      const file = join(dir, "portcullis.yaml");
      writeFileSync(
        file,
        [
          "providers: { corp: { issuer: https://idp.example.com, audiences: [api] } }",
          "routes: [{ name: legacy, match: { path: /legacy }, auth: required, apiKeys: true }]",
          "apiKeys: { enabled: true, keys: [{ clientId: cron, sha256: '${CRON_KEY_SHA256}' }] }",
          "",
        ].join("\n"),
      );
      const result = loadConfigFile(file, { CRON_KEY_SHA256: digest("one").toUpperCase() });
      expect(result.ok ? result.config.apiKeys?.keys[0]?.sha256 : result.problems.map(formatIssue)).toBe(digest("one"));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
