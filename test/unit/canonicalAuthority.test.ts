// The strict authority grammar: one host (reg-name with at most one trailing dot, or a bracketed
// IPv6 literal) and an optional port 1..65535; its canonical form is what routes match on.
import { describe, expect, it } from "vitest";
import { authorityProblem, canonicalAuthority } from "../../src/core/canonicalAuthority.ts";
import { canonicalHost } from "../../src/core/canonicalHost.ts";
import { toAccessRequest } from "../../src/transport/toAccessRequest.ts";

describe("canonicalAuthority", () => {
  it("lower-cases the host and drops the port and one trailing dot", () => {
    expect(canonicalAuthority("Admin.Example.COM")).toBe("admin.example.com");
    expect(canonicalAuthority("admin.example.com.")).toBe("admin.example.com");
    expect(canonicalAuthority("admin.example.com:443")).toBe("admin.example.com");
    expect(canonicalAuthority("admin.example.com.:8443")).toBe("admin.example.com");
    expect(canonicalAuthority("my_host-1")).toBe("my_host-1");
    expect(canonicalAuthority("10.0.0.1:65535")).toBe("10.0.0.1");
    expect(canonicalAuthority("[::1]")).toBe("[::1]");
    expect(canonicalAuthority("[FE80::1]:8443")).toBe("[fe80::1]");
    expect(canonicalAuthority("[::ffff:10.0.0.1]")).toBe("[::ffff:10.0.0.1]");
  });

  it("refuses every authority that is not one host[:port], saying why", () => {
    const refused: Array<[string, string]> = [
      ["admin.example.com:443:80", "more than one ':' (two ports, or an unbracketed IPv6 literal)"],
      ["::1", "empty host before ':'"],
      ["fe80::1", "more than one ':' (two ports, or an unbracketed IPv6 literal)"],
      ["localhost..", "empty label ('..') in the host"],
      ["a..b", "empty label ('..') in the host"],
      [".example.com", "host starts with '.'"],
      ["", "empty authority"],
      ["evil@localhost", "'@' in the authority (user information)"],
      ["localhost,evil", 'character "," is not allowed in a host name'],
      ["a b", 'character " " is not allowed in a host name'],
      ["a%2eb", 'character "%" is not allowed in a host name'],
      ["a;b", 'character ";" is not allowed in a host name'],
      ["h:", "empty port after ':'"],
      ["h:0", "port outside 1..65535"],
      ["h:65536", "port outside 1..65535"],
      ["h:123456", "port longer than 5 digits"],
      ["h:8o", "port is not a number"],
      ["[::1", "'[' without ']'"],
      ["[::1]x", "text after ']' that is not a port"],
      ["[::1]:", "empty port after ':'"],
      ["[v1.x]", "not an IPv6 literal between '[' and ']'"],
      ["[127.0.0.1]", "not an IPv6 literal between '[' and ']'"],
      ["[fe80::1%25eth0]", "not an IPv6 literal between '[' and ']'"],
    ];
    for (const [authority, problem] of refused) {
      expect(authorityProblem(authority), JSON.stringify(authority)).toBe(problem);
      expect(canonicalAuthority(authority), JSON.stringify(authority)).toBeNull();
    }
  });
});

describe("canonicalHost (configured host names)", () => {
  it("lower-cases and drops one trailing dot, as canonicalAuthority does for a request", () => {
    expect(canonicalHost("Admin.Example.com.")).toBe("admin.example.com");
    expect(canonicalHost("admin.example.com")).toBe(canonicalAuthority("ADMIN.example.com.:443"));
  });
});

describe("the Envoy adapter", () => {
  const check = (host: string) =>
    toAccessRequest({ attributes: { request: { http: { method: "GET", host, path: "/" } } } });

  it("hands the gate the canonical host of a valid authority", () => {
    expect(check("API.example.com.:8443")).toMatchObject({ host: "api.example.com" });
    expect(check("API.example.com:8443").hostInvalid).toBeUndefined();
  });

  it("flags an invalid authority and keeps it as received for the log", () => {
    expect(check("admin.example.com:443:80")).toMatchObject({ host: "admin.example.com:443:80", hostInvalid: true });
    expect(toAccessRequest({ attributes: { request: { http: { method: "GET", path: "/" } } } })).toMatchObject({
      host: "",
      hostInvalid: true,
    });
  });
});
