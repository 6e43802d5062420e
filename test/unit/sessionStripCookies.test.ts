import { describe, it, expect } from "vitest";
import { stripCookies } from "../../src/session/stripCookies.ts";

const ours = (name: string): boolean => name === "__Host-s" || name.startsWith("__Host-s.");

describe("stripCookies", () => {
  it("removes our cookies and keeps the others in order", () => {
    expect(stripCookies("a=1; __Host-s=2.xyz; b=2; __Host-s.1=abc; c=3", ours)).toBe("a=1; b=2; c=3");
  });

  it("returns null when nothing else remains", () => {
    expect(stripCookies("__Host-s=1.x; __Host-s.1=y", ours)).toBeNull();
    expect(stripCookies("", ours)).toBeNull();
    expect(stripCookies(" ; ", ours)).toBeNull();
  });

  it("passes other cookies on untouched, even ones we could not parse", () => {
    expect(stripCookies('pref="dark mode"; theme=a=b; flag', ours)).toBe('pref="dark mode"; theme=a=b; flag');
  });

  it("removes our cookies however they are spaced or quoted", () => {
    expect(stripCookies(' __Host-s = 1.x ;a=1;\t__Host-s.1="y"', ours)).toBe("a=1");
  });

  it("removes a malformed cookie that carries one of our names", () => {
    expect(stripCookies("__Host-s=bad value; a=1", ours)).toBe("a=1");
  });

  it("removes our cookies from two Cookie headers joined with a comma", () => {
    expect(stripCookies("a=1; b=2, __Host-s=1.x; c=3", ours)).toBe("a=1; b=2; c=3");
    expect(stripCookies("__Host-s=1.x, a=1", ours)).toBe("a=1");
    expect(stripCookies("a=1,__Host-s=1.x,__Host-s.1=y", ours)).toBe("a=1");
    expect(stripCookies("__Host-s=1.x,__Host-s.1=y", ours)).toBeNull();
  });

  it("keeps another cookie's comma-holding value unchanged, also next to a joined cookie of ours", () => {
    expect(stripCookies("list=a,b,c; d=1", ours)).toBe("list=a,b,c; d=1");
    expect(stripCookies("list=a,b,c, __Host-s=1.x", ours)).toBe("list=a,b,c");
    expect(stripCookies("__Host-s=1.x, list=a,b=2", ours)).toBe("list=a,b=2");
  });

  it("scans the whole header, beyond the parser's 16 KiB bound", () => {
    const filler = Array.from({ length: 300 }, (_, i) => `f${i}=${"x".repeat(80)}`).join("; ");
    const stripped = stripCookies(`${filler}; __Host-s=1.secret`, ours);
    expect(stripped).not.toBeNull();
    expect(stripped).not.toContain("secret");
    expect(stripped!.length).toBe(filler.length);
  });
});
