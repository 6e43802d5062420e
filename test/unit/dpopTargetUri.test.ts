// A proof's htu and the request's URI compare in one spelling (RFC 9449 §4.3 with RFC 3986 §6.2.2
// and §6.2.3): case of scheme and host, the default port, escapes, dot segments and an empty path do
// not make two URIs differ; the query and fragment are ignored; anything else does.
import { describe, expect, it } from "vitest";
import { normalizeTargetUri, requestTargetUri } from "../../src/oidc/normalizeTargetUri.ts";

describe("normalizeTargetUri", () => {
  it.each([
    ["https://api.example.com/things", "https://api.example.com/things"],
    ["HTTPS://API.Example.COM/things", "https://api.example.com/things"],
    ["https://api.example.com:443/things", "https://api.example.com/things"],
    ["http://api.example.com:80/things", "http://api.example.com/things"],
    ["https://api.example.com:8443/things", "https://api.example.com:8443/things"],
    ["https://api.example.com", "https://api.example.com/"],
    ["https://api.example.com/a/./b/../c", "https://api.example.com/a/c"],
    ["https://api.example.com/%7euser/%61", "https://api.example.com/~user/a"],
    ["https://api.example.com/a%2fb/%c3%bc", "https://api.example.com/a%2Fb/%C3%BC"],
    ["https://api.example.com/things?x=1#frag", "https://api.example.com/things"],
    ["https://[::1]:8443/x", "https://[::1]:8443/x"],
  ])("reads %s as %s", (uri, expected) => {
    expect(normalizeTargetUri(uri)).toBe(expected);
  });

  it.each([
    "",
    "/things",
    "api.example.com/things",
    "ftp://api.example.com/things",
    "https://user:pw@api.example.com/things",
    "https://user@api.example.com/things",
    "https:api.example.com/things",
    "https:\\\\api.example.com\\things",
    "https://api.example.com/a b",
    "https://api.example.com/\u00fc",
    `https://api.example.com/${"a".repeat(9000)}`,
  ])("refuses %j", (uri) => {
    expect(normalizeTargetUri(uri)).toBeNull();
  });

  it("keeps hosts and ports that differ apart", () => {
    expect(normalizeTargetUri("https://api.example.com:8443/x")).not.toBe(
      normalizeTargetUri("https://api.example.com/x"),
    );
    expect(normalizeTargetUri("https://api.example.com/x")).not.toBe(normalizeTargetUri("https://api.example.org/x"));
    expect(normalizeTargetUri("https://api.example.com/X")).not.toBe(normalizeTargetUri("https://api.example.com/x"));
  });
});

describe("requestTargetUri", () => {
  it("is the scheme, authority and path Envoy saw, without the query", () => {
    expect(requestTargetUri("https", "LocalHost:8443", "/api/things?limit=1")).toBe(
      "https://localhost:8443/api/things",
    );
    expect(requestTargetUri("https", "api.example.com:443", "/")).toBe("https://api.example.com/");
    expect(requestTargetUri("http", "api.example.com", "/a#b")).toBe("http://api.example.com/a");
    expect(requestTargetUri("https", "evil@api.example.com", "/")).toBeNull();
  });
});
