import { describe, it, expect } from "vitest";
import { createPathNormalizer, normalizePath } from "../../src/core/normalizePath.ts";

function normalized(raw: string): string {
  const result = normalizePath(raw);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(raw)} to normalise, got: ${result.reason}`);
  return result.path;
}

function expectRejected(raw: string): void {
  const result = normalizePath(raw);
  expect(result.ok, `expected ${JSON.stringify(raw)} to be rejected`).toBe(false);
}

describe("normalizePath", () => {
  it("returns an already clean path unchanged", () => {
    expect(normalized("/")).toBe("/");
    expect(normalized("/api/v1/users")).toBe("/api/v1/users");
    expect(normalized("/api/")).toBe("/api/");
    expect(normalized("/a.b/c..d/.e")).toBe("/a.b/c..d/.e");
  });

  it("removes dot segments so /public/../admin is /admin", () => {
    expect(normalized("/public/../admin")).toBe("/admin");
    expect(normalized("/a/./b")).toBe("/a/b");
    expect(normalized("/a/b/..")).toBe("/a/");
    expect(normalized("/a/.")).toBe("/a/");
  });

  it("never climbs above the root", () => {
    expect(normalized("/../admin")).toBe("/admin");
    expect(normalized("/a/../../../admin")).toBe("/admin");
    expect(normalized("/..")).toBe("/");
  });

  it("merges repeated slashes", () => {
    expect(normalized("/a//b")).toBe("/a/b");
    expect(normalized("//admin")).toBe("/admin");
    expect(normalized("/a///b//")).toBe("/a/b/");
  });

  it("removes dot segments before merging slashes, as Envoy does", () => {
    expect(normalized("/a//../b")).toBe("/a/b");
  });

  it("decodes percent-encoded unreserved characters", () => {
    expect(normalized("/%61dmin")).toBe("/admin");
    expect(normalized("/%41%5a%30%2D%5F%7E")).toBe("/AZ0-_~");
  });

  it("resolves dot segments that were percent-encoded", () => {
    expect(normalized("/a/%2e%2e/admin")).toBe("/admin");
    expect(normalized("/a/%2E./admin")).toBe("/admin");
    expect(normalized("/a/.%2e/admin")).toBe("/admin");
    expect(normalized("/public/%2e/x")).toBe("/public/x");
  });

  it("keeps other escapes encoded and upper-cases them", () => {
    expect(normalized("/a%20b")).toBe("/a%20b");
    expect(normalized("/a%3fb")).toBe("/a%3Fb");
    expect(normalized("/a%e2%82%ac")).toBe("/a%E2%82%AC");
  });

  it("decodes only once, so a double-encoded dot stays literal when encoded percents are allowed", () => {
    const lenient = createPathNormalizer(["encodedPercent"]);
    expect(lenient("/a/%252e%252e/admin")).toEqual({ ok: true, path: "/a/%252e%252e/admin" });
  });

  it("percent-encodes raw non-ASCII characters as UTF-8", () => {
    expect(normalized("/caf\u00e9")).toBe("/caf%C3%A9");
    expect(normalized("/\u{1f600}")).toBe("/%F0%9F%98%80");
  });

  it("strips the query and fragment before normalising", () => {
    expect(normalized("/x?y=../z")).toBe("/x");
    expect(normalized("/x#/../admin")).toBe("/x");
    expect(normalized("/a/../b?c=%2F")).toBe("/b");
    expect(normalized("/x?")).toBe("/x");
  });

  it("rejects encoded slashes and backslashes", () => {
    expectRejected("/admin%2Fx");
    expectRejected("/admin%2fx");
    expectRejected("/public/..%2Fadmin");
    expectRejected("/admin%5Cx");
    expectRejected("/admin%5cx");
  });

  it("rejects a raw backslash", () => {
    expectRejected("/public\\..\\admin");
    expectRejected("/a\\b");
  });

  it("rejects malformed percent-escapes", () => {
    expectRejected("/a%");
    expectRejected("/a%2");
    expectRejected("/a%zz");
    expectRejected("/a%g1/b");
  });

  it("rejects NUL and control characters, raw or encoded", () => {
    expectRejected("/a\u0000b");
    expectRejected("/a%00b");
    expectRejected("/a\r\nb");
    expectRejected("/a%0d%0ab");
    expectRejected("/a\u007fb");
    expectRejected("/a\tb");
    expectRejected("/a b");
  });

  it("rejects paths that do not start with a slash", () => {
    expectRejected("");
    expectRejected("admin");
    expectRejected("*");
    expectRejected("http://example.com/admin");
    expectRejected("?x=/a");
  });

  it("gives a reason when it rejects", () => {
    const result = normalizePath("/admin%2Fx");
    expect(result).toEqual({ ok: false, reason: "encoded slash or backslash" });
  });

  it("is idempotent", () => {
    for (const raw of ["/a/%2e%2e/b//c/./", "/%61%20b", "/caf\u00e9/../x", "/a//../b"]) {
      const once = normalized(raw);
      expect(normalized(once)).toBe(once);
    }
  });
});
