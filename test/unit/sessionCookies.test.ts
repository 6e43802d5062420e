import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { createCookieSealer } from "../../src/session/createCookieSealer.ts";
import { createSessionCookies, MAX_SET_COOKIE_BYTES } from "../../src/session/createSessionCookies.ts";
import { DUPLICATE_COOKIE, parseCookieHeader } from "../../src/session/parseCookieHeader.ts";
import { SessionTooLargeError } from "../../src/session/SessionTooLargeError.ts";
import { parseSession, type Session } from "../../src/session/Session.ts";

const NOW = 1_700_000_000;
const EXPIRES = NOW + 8 * 3600;
const sealer = createCookieSealer({ keys: ["session-cookie-test-key-0123456789abcdef"], purpose: "session" });

/** Turns Set-Cookie values into what the browser sends back (live cookies only). */
function browserCookies(setCookies: readonly string[], jar = new Map<string, string>()): Map<string, string> {
  for (const header of setCookies) {
    const [pair] = header.split("; ");
    const eq = pair!.indexOf("=");
    const name = pair!.slice(0, eq);
    if (/; Max-Age=0(;|$)/.test(header)) jar.delete(name);
    else jar.set(name, pair!.slice(eq + 1));
  }
  return jar;
}

function names(setCookies: readonly string[]): string[] {
  return setCookies.map((header) => header.slice(0, header.indexOf("=")));
}

function bigPayload(bytes: number): Record<string, unknown> {
  return {
    blob: randomBytes(Math.ceil((bytes * 3) / 4))
      .toString("base64url")
      .slice(0, bytes),
  };
}

/** A JWT-shaped string of the given length (random base64url segments). */
function fakeJwt(length: number): string {
  const body = randomBytes(length).toString("base64url");
  return `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${body.slice(0, length - 380)}.${body.slice(0, 342)}`;
}

describe("createSessionCookies", () => {
  const cookies = createSessionCookies({ name: "__Host-portcullis", domain: null, sealer });

  it("round-trips a small session through a single cookie", () => {
    const written = cookies.write({ sub: "alice" }, EXPIRES, [], NOW);
    expect(names(written)).toEqual(["__Host-portcullis"]);
    const read = cookies.read(browserCookies(written), NOW);
    expect(read.payload).toEqual({ sub: "alice" });
    expect(read.present).toEqual(["__Host-portcullis"]);
  });

  it("sets the required attributes and a Max-Age up to the session's expiry", () => {
    const [header] = cookies.write({ sub: "alice" }, EXPIRES, [], NOW);
    expect(header).toMatch(
      /^__Host-portcullis=1\.[A-Za-z0-9_-]+; Path=\/; Max-Age=28800; HttpOnly; Secure; SameSite=Lax$/,
    );
    expect(header).not.toContain("Domain=");
  });

  it("adds Domain only when a cookie domain is configured", () => {
    const shared = createSessionCookies({ name: "portcullis", domain: "example.com", sealer });
    const [header] = shared.write({ sub: "alice" }, EXPIRES, [], NOW);
    expect(header).toContain("; Domain=example.com;");
  });

  it("refuses a __Host- name with a cookie domain at construction", () => {
    expect(() => createSessionCookies({ name: "__Host-portcullis", domain: "example.com", sealer })).toThrow(/__Host-/);
  });

  it("refuses an invalid name, domain or chunk limit at construction", () => {
    expect(() => createSessionCookies({ name: "bad name", domain: null, sealer })).toThrow(/cookie name/);
    expect(() => createSessionCookies({ name: "s", domain: "bad;domain", sealer })).toThrow(/Domain/);
    expect(() => createSessionCookies({ name: "s", domain: null, sealer, maxChunks: 0 })).toThrow(/maxChunks/);
  });

  it("splits a large session across numbered cookies, each Set-Cookie under 4,000 bytes", () => {
    const shared = createSessionCookies({ name: "portcullis", domain: "apps.example.com", sealer });
    const payload = bigPayload(9000);
    const written = shared.write(payload, EXPIRES, [], NOW);
    expect(names(written)).toEqual(["portcullis", "portcullis.1", "portcullis.2", "portcullis.3"]);
    for (const header of written) expect(Buffer.byteLength(header)).toBeLessThan(MAX_SET_COOKIE_BYTES);
    // Full chunks use nearly all of the budget (only Max-Age digits are held in reserve).
    for (const header of written.slice(0, -1)) expect(Buffer.byteLength(header)).toBeGreaterThan(3990);
    expect(written[0]).toMatch(/^portcullis=4\./);
    expect(shared.read(browserCookies(written), NOW).payload).toEqual(payload);
  });

  it("keeps every chunk under 4,000 bytes even for the longest Max-Age", () => {
    const written = cookies.write(bigPayload(20_000), NOW + 10 ** 12, [], NOW);
    for (const header of written) expect(Buffer.byteLength(header)).toBeLessThan(MAX_SET_COOKIE_BYTES);
    expect(written[0]).toContain(`Max-Age=${400 * 24 * 3600};`);
  });

  it("treats a set with a missing chunk as no session", () => {
    const jar = browserCookies(cookies.write(bigPayload(9000), EXPIRES, [], NOW));
    jar.delete("__Host-portcullis.2");
    const read = cookies.read(jar, NOW);
    expect(read.payload).toBeNull();
    expect(read.present).toEqual(["__Host-portcullis", "__Host-portcullis.1", "__Host-portcullis.3"]);
  });

  it("treats a set with an extra chunk as no session", () => {
    const jar = browserCookies(cookies.write(bigPayload(9000), EXPIRES, [], NOW));
    jar.set("__Host-portcullis.4", "AAAA");
    expect(cookies.read(jar, NOW).payload).toBeNull();
  });

  it("treats a duplicated chunk name as no session", () => {
    const written = cookies.write(bigPayload(9000), EXPIRES, [], NOW);
    const header = written.map((h) => h.split("; ")[0]).join("; ");
    const withDuplicate = parseCookieHeader(`${header}; __Host-portcullis.1=${"A".repeat(10)}`);
    expect(withDuplicate.get("__Host-portcullis.1")).toBe(DUPLICATE_COOKIE);
    expect(cookies.read(withDuplicate, NOW).payload).toBeNull();
    const firstDuplicated = parseCookieHeader(`${header}; __Host-portcullis=1.AAAA`);
    expect(cookies.read(firstDuplicated, NOW).payload).toBeNull();
  });

  it("treats chunks from two different sessions as no session", () => {
    const a = browserCookies(cookies.write(bigPayload(9000), EXPIRES, [], NOW));
    const b = browserCookies(cookies.write(bigPayload(9000), EXPIRES, [], NOW));
    a.set("__Host-portcullis.1", b.get("__Host-portcullis.1")!);
    expect(cookies.read(a, NOW).payload).toBeNull();
  });

  it("treats a bad or out-of-range chunk count as no session", () => {
    const jar = browserCookies(cookies.write({ sub: "alice" }, EXPIRES, [], NOW));
    const sealed = jar.get("__Host-portcullis")!.slice(2);
    for (const first of [sealed, `0.${sealed}`, `01.${sealed}`, `9.${sealed}`, `x.${sealed}`, `2.${sealed}`, "1."]) {
      expect(cookies.read(new Map([["__Host-portcullis", first]]), NOW).payload, first.slice(0, 4)).toBeNull();
    }
  });

  it("treats a tampered or expired cookie as no session", () => {
    const jar = browserCookies(cookies.write({ sub: "alice" }, NOW + 60, [], NOW));
    expect(cookies.read(jar, NOW + 60).payload).toBeNull();
    const value = jar.get("__Host-portcullis")!;
    jar.set("__Host-portcullis", `${value.slice(0, -3)}${value.endsWith("AAA") ? "BBB" : "AAA"}`);
    expect(cookies.read(jar, NOW).payload).toBeNull();
  });

  it("reads no session and no names when none of our cookies are present", () => {
    expect(cookies.read(new Map([["other", "1"]]), NOW)).toEqual({ payload: null, present: [] });
  });

  it("expires chunks that a smaller rewrite no longer uses", () => {
    const big = cookies.write(bigPayload(9000), EXPIRES, [], NOW);
    const jar = browserCookies(big);
    const { present } = cookies.read(jar, NOW);
    const small = cookies.write({ sub: "alice" }, EXPIRES, present, NOW);
    expect(names(small)).toEqual([
      "__Host-portcullis",
      "__Host-portcullis.1",
      "__Host-portcullis.2",
      "__Host-portcullis.3",
    ]);
    for (const header of small.slice(1))
      expect(header).toMatch(/^__Host-portcullis\.\d=; Path=\/; Max-Age=0; HttpOnly; Secure; SameSite=Lax$/);
    const after = browserCookies(small, jar);
    expect([...after.keys()]).toEqual(["__Host-portcullis"]);
    expect(cookies.read(after, NOW).payload).toEqual({ sub: "alice" });
  });

  it("writes an already-expired session as clearing it", () => {
    expect(cookies.write({ sub: "alice" }, NOW, ["__Host-portcullis"], NOW)).toEqual([
      "__Host-portcullis=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
    ]);
  });

  it("throws a SessionTooLargeError, without the session, beyond maxChunks", () => {
    const limited = createSessionCookies({ name: "s", domain: null, sealer, maxChunks: 2 });
    const payload = bigPayload(9000);
    let error: unknown;
    try {
      limited.write(payload, EXPIRES, [], NOW);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SessionTooLargeError);
    expect((error as SessionTooLargeError).code).toBe("session_too_large");
    expect((error as Error).message).not.toContain(String(payload.blob).slice(0, 20));
  });

  it("clear expires only our cookie names that are present", () => {
    expect(cookies.clear(["__Host-portcullis", "__Host-portcullis.2", "other", "__Host-portcullis"])).toEqual([
      "__Host-portcullis=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
      "__Host-portcullis.2=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax",
    ]);
    expect(cookies.clear([])).toEqual([]);
  });

  it("clear lists the base cookie first so one Set-Cookie is enough to end the session", () => {
    const written = cookies.write(bigPayload(9000), EXPIRES, [], NOW);
    const jar = browserCookies(written);
    const present = cookies.read(jar, NOW).present;
    expect(present.length).toBeGreaterThan(2);
    const cleared = cookies.clear([...present].reverse());
    expect(names(cleared)[0]).toBe("__Host-portcullis");
    expect(cleared).toHaveLength(present.length);
    // Only the first Set-Cookie reaches the browser (a denied response): the session is gone anyway.
    expect(cookies.read(browserCookies(cleared.slice(0, 1), jar), NOW).payload).toBeNull();
  });

  it("owns exactly its base name and numbered chunk names", () => {
    expect(cookies.owns("__Host-portcullis")).toBe(true);
    expect(cookies.owns("__Host-portcullis.1")).toBe(true);
    expect(cookies.owns("__Host-portcullis.12")).toBe(true);
    expect(cookies.owns("__Host-portcullis.0")).toBe(false);
    expect(cookies.owns("__Host-portcullis.x")).toBe(false);
    expect(cookies.owns("__Host-portcullis-login.abc")).toBe(false);
    expect(cookies.owns("__host-portcullis")).toBe(false);
    expect(cookies.owns("other")).toBe(false);
  });

  it("keeps a realistic session (900 B access token, 800 B ID token, refresh token, claims) in one cookie", () => {
    const session: Session = {
      v: 1,
      id: randomBytes(16).toString("base64url"),
      provider: "main",
      iss: "https://idp.example.com/realms/main",
      sub: "3f1c9b6e-8d2a-4a51-9b0e-6c7f2d1e4a88",
      sid: "b1c2d3e4-sid",
      claims: {
        email: "alice@example.com",
        name: "Alice Example",
        preferred_username: "alice",
        roles: ["user", "admin"],
      },
      accessToken: fakeJwt(900),
      accessTokenExpiresAt: NOW + 300,
      accessTokenIssuedAt: NOW,
      refreshToken: randomBytes(32).toString("base64url"),
      idToken: fakeJwt(800),
      authTime: NOW,
      createdAt: NOW,
      expiresAt: EXPIRES,
    };
    for (const [name, domain] of [
      ["__Host-portcullis", null],
      ["portcullis", "example.com"],
    ] as const) {
      const set = createSessionCookies({ name, domain, sealer });
      const written = set.write(session, session.expiresAt, [], NOW);
      expect(written).toHaveLength(1);
      expect(Buffer.byteLength(written[0]!)).toBeLessThan(3300);
      const read = set.read(browserCookies(written), NOW);
      expect(parseSession(read.payload!)).toEqual(session);
    }
  });
});
