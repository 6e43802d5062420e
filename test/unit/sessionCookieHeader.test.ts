import { describe, it, expect } from "vitest";
import { DUPLICATE_COOKIE, parseCookieHeader } from "../../src/session/parseCookieHeader.ts";
import { serializeCookie } from "../../src/session/serializeCookie.ts";

describe("parseCookieHeader", () => {
  it("reads name=value pairs separated by semicolons", () => {
    const cookies = parseCookieHeader("a=b; c=d;e=f");
    expect([...cookies]).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e", "f"],
    ]);
  });

  it("returns an empty map for a missing or empty header", () => {
    expect(parseCookieHeader(undefined).size).toBe(0);
    expect(parseCookieHeader("").size).toBe(0);
  });

  it("unquotes double-quoted values and keeps empty values", () => {
    const cookies = parseCookieHeader('a="quoted"; b=; c=x=y');
    expect(cookies.get("a")).toBe("quoted");
    expect(cookies.get("b")).toBe("");
    expect(cookies.get("c")).toBe("x=y");
  });

  it("skips malformed pairs and keeps the good ones", () => {
    const cookies = parseCookieHeader('novalue; =nameless; bad name=1; ok=1; sp=a b; q="x; t=\u0001; fine=2');
    expect([...cookies.keys()]).toEqual(["ok", "fine"]);
    expect(cookies.get("fine")).toBe("2");
  });

  it("tolerates extra whitespace and empty segments", () => {
    const cookies = parseCookieHeader(" ;  a = 1 ;;\tb=2 ; ");
    expect(cookies.get("a")).toBe("1");
    expect(cookies.get("b")).toBe("2");
    expect(cookies.size).toBe(2);
  });

  it("marks a name sent twice instead of picking one of the values", () => {
    const cookies = parseCookieHeader("sid=first; other=1; sid=second");
    expect(cookies.get("sid")).toBe(DUPLICATE_COOKIE);
    expect(cookies.get("other")).toBe("1");
  });

  it("never reads a cookie from two Cookie headers joined with a comma, and marks its name ambiguous", () => {
    const cookies = parseCookieHeader("a=1, __Host-s=1.joined; b=2");
    expect(cookies.get("__Host-s")).toBe(DUPLICATE_COOKIE);
    expect(cookies.get("b")).toBe("2");
    // A clean copy of the name does not win over the joined one: which one the upstream reads is unknown.
    expect(parseCookieHeader("__Host-s=1.clean; x=1,__Host-s=1.joined").get("__Host-s")).toBe(DUPLICATE_COOKIE);
    expect(parseCookieHeader("__Host-s=1.clean; x=1").get("__Host-s")).toBe("1.clean");
  });

  it("reads at most 200 pairs", () => {
    const header = Array.from({ length: 250 }, (_, i) => `c${i}=${i}`).join("; ");
    const cookies = parseCookieHeader(header);
    expect(cookies.size).toBe(200);
    expect(cookies.get("c199")).toBe("199");
    expect(cookies.has("c200")).toBe(false);
  });

  it("reads at most 16 KiB and drops a pair cut by that limit", () => {
    const big = "x".repeat(16 * 1024 - 20);
    const cookies = parseCookieHeader(`big=${big}; cut=${"y".repeat(100)}; late=1`);
    expect(cookies.get("big")).toBe(big);
    expect(cookies.has("cut")).toBe(false);
    expect(cookies.has("late")).toBe(false);
    expect(parseCookieHeader(`only=${"z".repeat(20_000)}`).size).toBe(0);
  });

  it("accepts caller limits", () => {
    const cookies = parseCookieHeader("a=1; b=2; c=3", { maxPairs: 2, maxBytes: 1024 });
    expect([...cookies.keys()]).toEqual(["a", "b"]);
  });
});

describe("serializeCookie", () => {
  it("writes the name, value and attributes in a stable order", () => {
    expect(
      serializeCookie("sid", "abc", {
        path: "/",
        domain: "example.com",
        maxAge: 60,
        httpOnly: true,
        secure: true,
        sameSite: "Lax",
      }),
    ).toBe("sid=abc; Path=/; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=Lax");
    expect(serializeCookie("a", "")).toBe("a=");
  });

  it("throws on a name that is not a token", () => {
    for (const name of ["", "a b", "a;b", "a=b", "a,b", 'a"b', "a\u0000", "é"]) {
      expect(() => serializeCookie(name, "v"), JSON.stringify(name)).toThrow(/not a valid token/);
    }
  });

  it("throws on a value outside cookie-octets without quoting it", () => {
    for (const value of ["a b", "a;b", "a,b", 'a"b', "a\\b", "a\nb", "é"]) {
      let message = "";
      try {
        serializeCookie("sid", value);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, JSON.stringify(value)).toMatch(/cookie sid: value has characters not allowed/);
      expect(message).not.toContain(value);
    }
  });

  it("throws on an invalid domain, path or max-age", () => {
    expect(() => serializeCookie("a", "b", { domain: "evil.com; Secure" })).toThrow(/Domain/);
    expect(() => serializeCookie("a", "b", { domain: "" })).toThrow(/Domain/);
    expect(() => serializeCookie("a", "b", { path: "/x;y" })).toThrow(/Path/);
    expect(() => serializeCookie("a", "b", { path: "x" })).toThrow(/Path/);
    expect(() => serializeCookie("a", "b", { maxAge: -1 })).toThrow(/Max-Age/);
    expect(() => serializeCookie("a", "b", { maxAge: 1.5 })).toThrow(/Max-Age/);
  });

  it("enforces the __Host- and __Secure- prefix rules", () => {
    expect(serializeCookie("__Host-s", "v", { path: "/", secure: true })).toBe("__Host-s=v; Path=/; Secure");
    expect(() => serializeCookie("__Host-s", "v", { path: "/", secure: true, domain: "example.com" })).toThrow(
      /__Host-/,
    );
    expect(() => serializeCookie("__Host-s", "v", { path: "/app", secure: true })).toThrow(/__Host-/);
    expect(() => serializeCookie("__Host-s", "v", { path: "/" })).toThrow(/__Host-/);
    expect(() => serializeCookie("__Secure-s", "v", {})).toThrow(/__Secure-/);
    expect(serializeCookie("__Secure-s", "v", { secure: true, domain: "example.com" })).toContain("Domain=example.com");
  });

  it("refuses SameSite=None without Secure", () => {
    expect(() => serializeCookie("a", "b", { sameSite: "None" })).toThrow(/SameSite=None requires Secure/);
  });
});
