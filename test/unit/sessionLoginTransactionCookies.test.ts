import { describe, it, expect } from "vitest";
import { createCookieSealer } from "../../src/session/createCookieSealer.ts";
import {
  createLoginTransactionCookies,
  loginTransactionId,
} from "../../src/session/createLoginTransactionCookies.ts";
import type { LoginTransaction } from "../../src/session/LoginTransaction.ts";
import { DUPLICATE_COOKIE } from "../../src/session/parseCookieHeader.ts";

const NOW = 1_700_000_000;
const KEY = "login-transaction-test-key-0123456789abcdef";
const sealer = createCookieSealer({ keys: [KEY], purpose: "login" });
const PREFIX = "__Host-portcullis-login";

function transaction(state: string, createdAt = NOW): LoginTransaction {
  return {
    state,
    nonce: `nonce-${state}`,
    codeVerifier: `verifier-${state}-0123456789012345678901234567890123`,
    returnTo: "https://app.example.com/orders",
    provider: "main",
    createdAt,
  };
}

/** Applies Set-Cookie values to a browser-like jar. */
function apply(setCookies: readonly string[], jar = new Map<string, string>()): Map<string, string> {
  for (const header of setCookies) {
    const [pair] = header.split("; ");
    const eq = pair!.indexOf("=");
    if (/; Max-Age=0(;|$)/.test(header)) jar.delete(pair!.slice(0, eq));
    else jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
  return jar;
}

function expiredNames(setCookies: readonly string[]): string[] {
  return setCookies.filter((h) => /; Max-Age=0(;|$)/.test(h)).map((h) => h.slice(0, h.indexOf("=")));
}

describe("createLoginTransactionCookies", () => {
  const logins = createLoginTransactionCookies({ prefix: PREFIX, domain: null, sealer, ttlSeconds: 600, maxPending: 3 });

  it("issues one sealed, short-lived cookie named after a hash of the state", () => {
    const [header, ...rest] = logins.issue(transaction("state-1"), new Map(), NOW);
    expect(rest).toEqual([]);
    const id = loginTransactionId("state-1");
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(header).toMatch(new RegExp(`^${PREFIX}\\.${id}=[A-Za-z0-9_-]+; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$`));
    expect(header).not.toContain("state-1");
    expect(header).not.toContain("verifier");
  });

  it("takes the transaction for its state and expires its cookie", () => {
    const jar = apply(logins.issue(transaction("state-1"), new Map(), NOW));
    const taken = logins.take("state-1", jar, NOW + 30);
    expect(taken.txn).toEqual(transaction("state-1"));
    expect(taken.clear).toEqual([`${PREFIX}.${loginTransactionId("state-1")}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`]);
  });

  it("keeps logins of several tabs apart", () => {
    let jar = apply(logins.issue(transaction("tab-a"), new Map(), NOW));
    jar = apply(logins.issue(transaction("tab-b"), jar, NOW + 1), jar);
    expect(logins.take("tab-b", jar, NOW + 2).txn?.state).toBe("tab-b");
    expect(logins.take("tab-a", jar, NOW + 2).txn?.state).toBe("tab-a");
  });

  it("finds nothing after the cookie was taken (replayed callback)", () => {
    const jar = apply(logins.issue(transaction("state-1"), new Map(), NOW));
    apply(logins.take("state-1", jar, NOW).clear, jar);
    expect(logins.take("state-1", jar, NOW)).toEqual({ txn: null, clear: [] });
  });

  it("returns no transaction for an unknown, empty or oversized state", () => {
    const jar = apply(logins.issue(transaction("state-1"), new Map(), NOW));
    expect(logins.take("state-2", jar, NOW)).toEqual({ txn: null, clear: [] });
    expect(logins.take("", jar, NOW)).toEqual({ txn: null, clear: [] });
    expect(logins.take("x".repeat(10_000), jar, NOW)).toEqual({ txn: null, clear: [] });
  });

  it("returns no transaction but still expires a cookie whose content is for another state", () => {
    const jar = apply(logins.issue(transaction("state-1"), new Map(), NOW));
    // Move state-1's sealed cookie under state-2's name: the name matches, the sealed state does not.
    const name2 = `${PREFIX}.${loginTransactionId("state-2")}`;
    const moved = new Map([[name2, jar.get(`${PREFIX}.${loginTransactionId("state-1")}`)!]]);
    const taken = logins.take("state-2", moved, NOW);
    expect(taken.txn).toBeNull();
    expect(expiredNames(taken.clear)).toEqual([name2]);
  });

  it("returns no transaction but expires the cookie when it is tampered, expired, foreign or duplicated", () => {
    const name = `${PREFIX}.${loginTransactionId("state-1")}`;
    const jar = apply(logins.issue(transaction("state-1"), new Map(), NOW));
    const sealed = jar.get(name)!;
    const foreign = createCookieSealer({ keys: ["another-key-entirely-0123456789abcdef"], purpose: "login" });
    const sessionSealer = createCookieSealer({ keys: [KEY], purpose: "session" });
    const cases: Array<[string, string, number]> = [
      ["tampered", `${sealed.slice(0, 20)}${sealed[20] === "A" ? "B" : "A"}${sealed.slice(21)}`, NOW],
      ["expired", sealed, NOW + 600],
      ["foreign key", foreign.seal(transaction("state-1"), NOW + 600), NOW],
      ["session key", sessionSealer.seal(transaction("state-1"), NOW + 600), NOW],
      ["not a transaction", sealer.seal({ state: "state-1" }, NOW + 600), NOW],
      ["duplicated", DUPLICATE_COOKIE, NOW],
    ];
    for (const [label, value, now] of cases) {
      const taken = logins.take("state-1", new Map([[name, value]]), now);
      expect(taken.txn, label).toBeNull();
      expect(expiredNames(taken.clear), label).toEqual([name]);
    }
  });

  it("expires the oldest pending logins beyond maxPending", () => {
    let jar = new Map<string, string>();
    for (const [state, at] of [["s1", NOW + 3], ["s2", NOW + 1], ["s3", NOW + 2]] as const) {
      jar = apply(logins.issue(transaction(state, at), jar, NOW), jar);
    }
    expect(jar.size).toBe(3);
    const fourth = logins.issue(transaction("s4", NOW + 4), jar, NOW);
    expect(expiredNames(fourth)).toEqual([`${PREFIX}.${loginTransactionId("s2")}`]);
    jar = apply(fourth, jar);
    expect(jar.size).toBe(3);
    expect(logins.take("s4", jar, NOW).txn?.state).toBe("s4");
  });

  it("evicts unreadable pending cookies before readable ones", () => {
    let jar = new Map<string, string>();
    jar = apply(logins.issue(transaction("s1", NOW), jar, NOW), jar);
    jar = apply(logins.issue(transaction("s2", NOW + 1), jar, NOW), jar);
    const junk = `${PREFIX}.${"J".repeat(16)}`;
    jar.set(junk, "garbage");
    const issued = logins.issue(transaction("s3", NOW + 2), jar, NOW);
    expect(expiredNames(issued)).toEqual([junk]);
  });

  it("does not count unrelated cookies or the re-issued state as pending", () => {
    const jar = new Map([
      ["other", "1"],
      [`${PREFIX}.short`, "x"],
      ["__Host-portcullis", "1.abc"],
    ]);
    let withOwn = apply(logins.issue(transaction("s1"), jar, NOW), new Map(jar));
    withOwn = apply(logins.issue(transaction("s2"), withOwn, NOW), withOwn);
    withOwn = apply(logins.issue(transaction("s3"), withOwn, NOW), withOwn);
    expect(expiredNames(logins.issue(transaction("s3"), withOwn, NOW))).toEqual([]);
  });

  it("owns only names of its prefix with a 16-character id", () => {
    expect(logins.owns(`${PREFIX}.${loginTransactionId("x")}`)).toBe(true);
    expect(logins.owns(`${PREFIX}.short`)).toBe(false);
    expect(logins.owns(PREFIX)).toBe(false);
    expect(logins.owns("__Host-portcullis")).toBe(false);
  });

  it("refuses an invalid transaction at issue", () => {
    const bad = { ...transaction("s1"), returnTo: "/relative" };
    expect(() => logins.issue(bad, new Map(), NOW)).toThrow(TypeError);
  });

  it("refuses bad options at construction", () => {
    const base = { prefix: PREFIX, domain: null, sealer, ttlSeconds: 600, maxPending: 3 };
    expect(() => createLoginTransactionCookies({ ...base, ttlSeconds: 601 })).toThrow(/ttlSeconds/);
    expect(() => createLoginTransactionCookies({ ...base, ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => createLoginTransactionCookies({ ...base, maxPending: 0 })).toThrow(/maxPending/);
    expect(() => createLoginTransactionCookies({ ...base, domain: "example.com" })).toThrow(/__Host-/);
    expect(() => createLoginTransactionCookies({ ...base, prefix: "bad prefix" })).toThrow(/cookie name/);
    const shared = createLoginTransactionCookies({ ...base, prefix: "portcullis-login", domain: "example.com" });
    expect(shared.issue(transaction("s1"), new Map(), NOW)[0]).toContain("; Domain=example.com;");
  });
});
