// Property: however cookies reach us (one header with "; ", Envoy's "," join of two HTTP/1.1 Cookie
// headers, or a mix), no cookie of ours survives stripCookies and every other cookie survives whole
// and in order; and the parser never reads one of ours from a ","-joined segment.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DUPLICATE_COOKIE, parseCookieHeader } from "../../src/session/parseCookieHeader.ts";
import { stripCookies } from "../../src/session/stripCookies.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";

const OURS = ["__Host-s", "__Host-s.1", "__Host-s.2", "__Host-s-login.ab12"];
const owns = (name: string): boolean =>
  name === "__Host-s" || name.startsWith("__Host-s.") || name.startsWith("__Host-s-login.");

// Our values carry SEAL, which no other value can (upper case is not in their alphabet).
const ourCookie = fc
  .tuple(fc.constantFrom(...OURS), fc.stringMatching(/^[0-9]{1,6}$/))
  .map(([name, n]) => ({ name, value: `1.SEAL${n}`, ours: true }));
// Other values: printable, often with "," and "=" (lists, base64 padding) but never ";", space or "_".
const otherValue = fc.string({
  unit: fc.constantFrom("a", "b", "z", "0", "9", "=", ",", ".", "+", "/", "-", "%", '"'),
  maxLength: 12,
});
const otherName = fc.stringMatching(/^[a-z][a-zA-Z0-9-]{0,7}$/);
const otherCookie = fc.tuple(otherName, otherValue).map(([name, value]) => ({ name, value, ours: false }));
const SEPARATORS = ["; ", ";", ", ", ","] as const;

const header = fc
  .array(fc.tuple(fc.oneof(ourCookie, otherCookie), fc.constantFrom(...SEPARATORS)), { minLength: 1, maxLength: 10 })
  // Unique names: a name twice is another rule (DUPLICATE_COOKIE), tested by example.
  .filter((list) => new Set(list.map(([c]) => c.name)).size === list.length)
  .map((list) => ({
    cookies: list.map(([c]) => c),
    text: list.map(([c, sep], i) => `${c.name}=${c.value}${i === list.length - 1 ? "" : sep}`).join(""),
  }));

describe("stripping our cookies from any joined Cookie header", () => {
  it("leaves no cookie of ours and every other cookie whole, in order", () => {
    fc.assert(
      fc.property(header, ({ cookies, text }) => {
        const out = stripCookies(text, owns);
        const others = cookies.filter((c) => !c.ours);
        if (others.length === 0) {
          expect(out).toBeNull();
          return;
        }
        expect(out).not.toBeNull();
        const stripped = out as string;
        expect(stripped).not.toContain("SEAL");
        for (const part of stripped.split(/[;,]/)) expect(owns(part.trim().split("=", 1)[0]!.trim())).toBe(false);
        let from = 0;
        for (const c of others) {
          const at = stripped.indexOf(`${c.name}=${c.value}`, from);
          expect(at, `${c.name}=${c.value} in ${stripped}`).toBeGreaterThanOrEqual(from);
          from = at + c.name.length + 1 + c.value.length;
        }
      }),
      { numRuns: propertyRuns(5000) },
    );
  });

  it("never reads a cookie of ours from a segment joined with a comma", () => {
    fc.assert(
      fc.property(header, ({ cookies, text }) => {
        const read = parseCookieHeader(text);
        for (const segment of text.split(";")) {
          if (!segment.includes(",")) continue;
          for (const c of cookies) {
            if (c.ours && segment.includes(`${c.name}=${c.value}`))
              expect([undefined, DUPLICATE_COOKIE]).toContain(read.get(c.name));
          }
        }
      }),
      { numRuns: propertyRuns(5000) },
    );
  });

  it("reads our cookies from a plain header as before", () => {
    expect(parseCookieHeader("a=1; __Host-s=1.SEAL1; __Host-s.1=x").get("__Host-s")).toBe("1.SEAL1");
  });
});
