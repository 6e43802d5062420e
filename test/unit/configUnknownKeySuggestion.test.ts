// "Did you mean" for unknown config keys: a misspelt key names the allowed key it is closest to,
// only when it is close, and never repeats a value the user wrote.
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { closestKey } from "../../src/config/unknownKeyMessage.ts";

const provider = { issuer: "https://idp.example.com", audiences: ["api"] };
const route = { name: "api", match: { path: "/api" }, auth: "required" };

function problemsOf(raw: Record<string, unknown>): string[] {
  const result = parseConfig(raw);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("unknown config keys", () => {
  it("names the route key a misspelt one was meant to be", () => {
    const problems = problemsOf({ providers: { demo: provider }, routes: [{ ...route, mach: { path: "/x" } }] });
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^routes\[0\]\.mach: unknown key; did you mean "match"\? \(allowed: name, match, auth, providers, require, (.+, )?forwardRequestHeaders, exchange(, .+)?\)$/,
      ),
    );
  });

  it("suggests a top-level section for a typo of its name", () => {
    const problems = problemsOf({ providers: { demo: provider }, routes: [route], sesion: {} });
    expect(problems).toEqual([
      expect.stringMatching(/^sesion: unknown key; did you mean "session"\? \(allowed: listen,/),
    ]);
  });

  it("takes a key that differs only in letter case or by two swapped letters for the intended one", () => {
    const problems = problemsOf({
      providers: { demo: { ...provider, ClientId: "portcullis" } },
      routes: [{ ...route, mtach: {} }],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^providers\.demo\.ClientId: unknown key; did you mean "clientId"\?/),
        expect.stringMatching(/^routes\[0\]\.mtach: unknown key; did you mean "match"\?/),
      ]),
    );
  });

  it("suggests inside requirement mappings and claim checks too", () => {
    const problems = problemsOf({
      providers: { demo: provider },
      routes: [{ ...route, require: { roles: { anyof: ["admin"] }, claims: { claim: "tier", equal: "gold" } } }],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'routes[0].require.roles.anyof: unknown key; did you mean "anyOf"? (allowed: anyOf, allOf)',
        'routes[0].require.claims.equal: unknown key; did you mean "equals"? (allowed: claim, equals, notEquals, contains, oneOf, notOneOf, exists, matches, endsWith, greaterThan, atLeast, lessThan, atMost, hasAll, hasAny, hasNone; or all / any / not alone)',
      ]),
    );
  });

  it("lists the allowed keys without a guess when no key is close", () => {
    const problems = problemsOf({ providers: { demo: provider }, routes: [route], tracing: { url: "http://x" } });
    expect(problems).toEqual([
      "tracing.url: unknown key (allowed: enabled, endpoint, serviceName, sampleRatio, exportTimeoutMs, headers)",
    ]);
  });

  it("never repeats the value written under a misspelt secret key", () => {
    const secret = "s3cr3t-value-that-must-not-leak-0123456789";
    const problems = problemsOf({ providers: { demo: { ...provider, clientSecert: secret } }, routes: [route] });
    expect(problems).toEqual([
      expect.stringMatching(/^providers\.demo\.clientSecert: unknown key; did you mean "clientSecret"\?/),
    ]);
    expect(problems.join("\n")).not.toContain(secret);
  });

  it("allows one edit in a short key and more in a long one, and picks the first of equally close keys", () => {
    expect(closestKey("url", ["enabled", "endpoint"])).toBeNull();
    expect(closestKey("pth", ["path", "pathExact"])).toBe("path");
    expect(closestKey("pathRegx", ["path", "pathExact", "pathGlob", "pathRegex"])).toBe("pathRegex");
    expect(closestKey("forwardRequestHeader", ["forwardRequestHeaders"])).toBe("forwardRequestHeaders");
    expect(closestKey("audiance", ["audiences"])).toBe("audiences");
    expect(closestKey("ab", ["a", "b"])).toBe("a");
    expect(closestKey("xyz", ["abc"])).toBeNull();
  });
});
