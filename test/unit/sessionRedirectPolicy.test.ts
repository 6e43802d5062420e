import { describe, it, expect } from "vitest";
import { createRedirectPolicy } from "../../src/session/createRedirectPolicy.ts";

const BASE = "https://app.example.com";
const policy = createRedirectPolicy({ allowedOrigins: ["https://allowed.example", "http://localhost:8080"] });

function refused(target: string): void {
  expect(policy.resolve(target, BASE), JSON.stringify(target)).toBeNull();
}

describe("createRedirectPolicy", () => {
  it("resolves a same-origin absolute path against the base origin", () => {
    expect(policy.resolve("/", BASE)).toBe("https://app.example.com/");
    expect(policy.resolve("/orders/42?tab=items&x=%20#top", BASE)).toBe(
      "https://app.example.com/orders/42?tab=items&x=%20#top",
    );
  });

  it("accepts absolute URLs on the base origin or an allowed origin", () => {
    expect(policy.resolve("https://app.example.com/a", BASE)).toBe("https://app.example.com/a");
    expect(policy.resolve("https://allowed.example/after-logout", BASE)).toBe("https://allowed.example/after-logout");
    expect(policy.resolve("https://allowed.example:443/x", BASE)).toBe("https://allowed.example/x");
    expect(policy.resolve("http://localhost:8080/", BASE)).toBe("http://localhost:8080/");
  });

  it("refuses protocol-relative and backslash tricks", () => {
    for (const target of [
      "//evil.com",
      "//evil.com/path",
      "/\\evil.com",
      "\\/evil.com",
      "\\\\evil.com",
      "/a\\b",
      "https://allowed.example\\@evil.com",
    ]) {
      refused(target);
    }
  });

  it("refuses scheme tricks and userinfo", () => {
    for (const target of [
      "https:evil.com",
      "https:/evil.com",
      "http://user@evil.com",
      "https://allowed.example@evil.com",
      "https://user:pass@allowed.example/",
      "https://user@allowed.example/",
      "https://:pass@allowed.example/",
      "https://evil.com#@allowed.example",
      "https://evil.com?@allowed.example",
      "javascript:alert(1)",
      "JavaScript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "ftp://allowed.example/",
      "evil.com",
      "orders",
    ]) {
      refused(target);
    }
  });

  it("keeps an encoded double slash a same-origin path, never //evil.com", () => {
    expect(policy.resolve("/%2f%2fevil.com", BASE)).toBe("https://app.example.com/%2f%2fevil.com");
    expect(policy.resolve("/%2F%2Fevil.com", BASE)).toBe("https://app.example.com/%2F%2Fevil.com");
    refused("%2F%2Fevil.com");
    refused("%2f%2fevil.com");
  });

  it("refuses paths whose dot segments collapse into a leading double slash", () => {
    refused("/.//evil.com");
    refused("/%2e//evil.com");
    refused("/a/..//evil.com");
  });

  it("refuses whitespace and control characters anywhere", () => {
    for (const target of [
      "/\t/evil.com",
      "/\n/evil.com",
      "/\r/evil.com",
      " /orders",
      "  //evil.com",
      "/orders ",
      "/a b",
      "/\u0000",
      "https://allowed.example/\n",
    ]) {
      refused(target);
    }
  });

  it("refuses non-ASCII rather than guessing how it normalises", () => {
    refused("/caf\u00e9");
    refused("/\uff0f\uff0fevil.com");
    refused("https://allowed\u3002example/");
  });

  it("refuses targets longer than 2048 characters", () => {
    expect(policy.resolve(`/${"a".repeat(2047)}`, BASE)).toBe(`${BASE}/${"a".repeat(2047)}`);
    refused(`/${"a".repeat(2048)}`);
  });

  it("refuses an allowed host on another port or scheme", () => {
    refused("https://allowed.example:8443/");
    refused("http://allowed.example/");
    refused("http://localhost:8081/");
    refused("https://app.example.com:444/");
  });

  it("refuses other origins and subdomains of allowed ones", () => {
    refused("https://evil.com/");
    refused("https://sub.allowed.example/");
    refused("https://allowed.example.evil.com/");
  });

  it("refuses everything when the base origin itself is not an exact origin", () => {
    expect(policy.resolve("/orders", "https://app.example.com/")).toBeNull();
    expect(policy.resolve("/orders", "not a url")).toBeNull();
  });

  it("accepts only exact origins as allowedOrigins", () => {
    for (const entry of [
      "https://app.example.com/",
      "https://app.example.com/path",
      "app.example.com",
      "https://App.example.com",
      "https://app.example.com:443",
      "https://user@app.example.com",
      "ftp://app.example.com",
      "*",
      "",
    ]) {
      expect(() => createRedirectPolicy({ allowedOrigins: [entry] }), JSON.stringify(entry)).toThrow(/exact origin/);
    }
    expect(() =>
      createRedirectPolicy({ allowedOrigins: ["https://app.example.com:8443", "http://[::1]:3000"] }),
    ).not.toThrow();
  });
});
