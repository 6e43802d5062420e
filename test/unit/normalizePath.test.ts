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

  it("refuses a '..' that would remove an empty segment, which Envoy and Tomcat resolve differently", () => {
    // Envoy resolves dot segments first (/public/admin), Tomcat merges slashes first (/admin).
    for (const raw of [
      "/public//../admin",
      "/a//../b",
      "/a//./../b",
      "/a//b/../../c",
      "/a/%2e%2e//../b",
      "//..",
      "/a//%2e%2e/b",
    ]) {
      expect(normalizePath(raw), raw).toEqual({ ok: false, reason: "an empty segment before '..' (//..)" });
    }
    // With no empty segment before it a '..' is read one way, and empty segments elsewhere are merged.
    expect(normalized("/a/b/../c")).toBe("/a/c");
    expect(normalized("/../../a")).toBe("/a");
    expect(normalized("/a/..//b")).toBe("/b");
    expect(normalized("/a//b/./c")).toBe("/a/b/c");
  });

  it("decodes escaped sub-delims, ':' and '@', so /%40admin is matched as /@admin", () => {
    expect(normalized("/%40admin/x")).toBe("/@admin/x");
    expect(normalized("/%24metadata")).toBe("/$metadata");
    expect(normalized("/api/users%3Aexport")).toBe("/api/users:export");
    expect(normalized("/api/users%3aexport")).toBe("/api/users:export");
    expect(normalized("/%21%24%26%27%28%29%2A%2B%2C%3D%3A%40")).toBe("/!$&'()*+,=:@");
  });

  it("keeps separators and the percent sign encoded and refuses an escaped ';'", () => {
    expect(normalized("/a%3Fb%23c")).toBe("/a%3Fb%23c");
    expect(normalizePath("/a%2Fb")).toMatchObject({ ok: false });
    expect(normalizePath("/a%3Bb")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("shape pathParameters"),
    });
    expect(normalizePath("/a%25b")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("shape encodedPercent"),
    });
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

  it("refuses path parameters, raw or encoded, naming the shape", () => {
    for (const raw of ["/admin;x/y", "/admin;/y", "/a/b;jsessionid=1", "/admin%3Bx/y", "/admin%3bx"]) {
      expect(normalizePath(raw), raw).toEqual({
        ok: false,
        reason: "a ';' or %3B (path parameters) in the path (shape pathParameters, off by default)",
      });
    }
    expect(normalized("/a?x=1;y=2")).toBe("/a");
  });

  it("refuses an encoded percent, which double-decoding upstreams read as an escape", () => {
    expect(normalizePath("/%2561dmin/x")).toEqual({
      ok: false,
      reason: "an encoded percent %25 in the path (shape encodedPercent, off by default)",
    });
  });

  it("refuses a segment ending in a dot or an encoded space, after dot segments are resolved", () => {
    for (const raw of ["/admin./y", "/admin%2e/y", "/admin%2E", "/a/...", "/a/.../b", "/x/../admin./y"])
      expect(normalizePath(raw), raw).toMatchObject({
        ok: false,
        reason: expect.stringContaining("shape trailingDot"),
      });
    for (const raw of ["/admin%20/y", "/admin%20", "/a/%20/b"])
      expect(normalizePath(raw), raw).toMatchObject({
        ok: false,
        reason: expect.stringContaining("shape trailingWhitespace"),
      });
    expect(normalized("/a.b/.c/x%20y/v1.2/z")).toBe("/a.b/.c/x%20y/v1.2/z");
  });

  it("reads the whole trailing run, so allowing one trimmable shape does not let the other through", () => {
    expect(createPathNormalizer(["trailingWhitespace"])("/admin.%20/y")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("shape trailingDot"),
    });
    expect(createPathNormalizer(["trailingDot"])("/admin%20./y")).toMatchObject({
      ok: false,
      reason: expect.stringContaining("shape trailingWhitespace"),
    });
    expect(createPathNormalizer(["trailingDot", "trailingWhitespace"])("/admin%20./y")).toEqual({
      ok: true,
      path: "/admin%20./y",
    });
  });

  it("refuses escapes that are not well-formed UTF-8 and keeps those that are", () => {
    for (const raw of [
      "/%C0%AE%C0%AE/admin",
      "/%c0%af",
      "/%80",
      "/%FF",
      "/%E2%82",
      "/%E2%82/x",
      "/%ED%A0%80",
      "/%F4%90%80%80",
      "/%E0%80%AF",
      "/%C3\u00e9",
    ]) {
      expect(normalizePath(raw), raw).toMatchObject({
        ok: false,
        reason: expect.stringContaining("shape invalidUtf8"),
      });
    }
    expect(normalized("/%e2%82%ac/%F0%9F%98%80/caf\u00e9")).toBe("/%E2%82%AC/%F0%9F%98%80/caf%C3%A9");
    expect(createPathNormalizer(["invalidUtf8"])("/%C0%AE")).toEqual({ ok: true, path: "/%C0%AE" });
  });

  it("lets each shape through when it is allowed", () => {
    const lenient = createPathNormalizer([
      "pathParameters",
      "encodedPercent",
      "trailingDot",
      "trailingWhitespace",
      "invalidUtf8",
    ]);
    expect(lenient("/admin;x/%3b/%2561/a./b%20/%C0%AE")).toEqual({
      ok: true,
      path: "/admin;x/%3B/%2561/a./b%20/%C0%AE",
    });
    expect(lenient("/a%2Fb")).toEqual({ ok: false, reason: "encoded slash or backslash" });
  });

  it("returns a clean path as the very string it was given", () => {
    const raw = "/api/v1/users/42";
    const result = normalizePath(raw);
    expect(result.ok && result.path).toBe(raw);
  });

  it("is idempotent", () => {
    for (const raw of ["/a/%2e%2e/b//c/./", "/%61%20b", "/caf\u00e9/../x", "/a/../b", "/%40%24%3a%2b"]) {
      const once = normalized(raw);
      expect(normalized(once)).toBe(once);
    }
  });
});
