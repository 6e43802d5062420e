// Looking for the key an unknown one was meant to be costs no more than the allowed keys are long:
// a key far longer than any allowed key is no typo of one, so a huge key in a config file (up to
// 1 MiB) neither stalls a serving process's reload nor check-config, and gets no suggestion.
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { closestKey } from "../../src/config/unknownKeyMessage.ts";

describe("the cost of a suggestion for an unknown key", () => {
  it("gives a key much longer than every allowed key no suggestion, without comparing it letter by letter", () => {
    const started = performance.now();
    expect(closestKey("x".repeat(1024 * 1024), ["match", "name", "auth"])).toBeNull();
    expect(closestKey(`match${"x".repeat(1024 * 1024)}`, ["match"])).toBeNull();
    // Letter by letter, a 1 MiB key took seconds per allowed key.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("reports a config's huge unknown keys at once, each as unknown", () => {
    const huge = Object.fromEntries(["a", "b", "c"].map((c) => [c.repeat(300_000), 1]));
    const started = performance.now();
    const result = parseConfig({
      providers: { demo: { issuer: "https://idp.example.com", audiences: ["api"], ...huge } },
      routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.map(formatIssue);
    expect(problems).toHaveLength(3);
    for (const problem of problems) expect(problem).toMatch(/: unknown key \(allowed: /);
  });

  it("still suggests for keys of a length close to an allowed one", () => {
    expect(closestKey("mach", ["name", "match"])).toBe("match");
    expect(closestKey("clockToleranceSecnods", ["clockToleranceSeconds"])).toBe("clockToleranceSeconds");
  });
});
