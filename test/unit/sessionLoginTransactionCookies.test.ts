import { describe, it, expect } from "vitest";
import { createCookieSealer, type CookieSealer } from "../../src/session/createCookieSealer.ts";
import { createLoginTransactionCookies } from "../../src/session/createLoginTransactionCookies.ts";
import type { LoginTransaction } from "../../src/session/LoginTransaction.ts";
import { DUPLICATE_COOKIE } from "../../src/session/parseCookieHeader.ts";

const NOW = 1_700_000_000;
const KEY = "login-transaction-test-key-0123456789abcdef";
const sealer = createCookieSealer({ keys: [KEY], purpose: "login" });
const PREFIX = "__Host-portcullis-login";
const slot = (index: number): string => `${PREFIX}.${index}`;
const EXPIRED = (name: string): string => `${name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;

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

function namesOf(setCookies: readonly string[]): string[] {
  return setCookies.map((h) => h.slice(0, h.indexOf("=")));
}

/** Issues each [state, createdAt] in turn into one jar, as a browser would store them. */
function issueAll(logins: ReturnType<typeof createLoginTransactionCookies>, entries: ReadonlyArray<readonly [string, number]>): Map<string, string> {
  const jar = new Map<string, string>();
  for (const [state, at] of entries) apply(logins.issue(transaction(state, at), jar, NOW), jar);
  return jar;
}

describe("createLoginTransactionCookies", () => {
  const logins = createLoginTransactionCookies({ prefix: PREFIX, domain: null, sealer, ttlSeconds: 600, maxPending: 3 });

  it("issues one sealed, short-lived cookie in the first slot without revealing the transaction", () => {
    const issued = logins.issue(transaction("state-1"), new Map(), NOW);
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatch(new RegExp(`^${PREFIX}\\.0=[A-Za-z0-9_-]+; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$`));
    expect(issued[0]).not.toContain("state-1");
    expect(issued[0]).not.toContain("verifier");
  });

  it("issues exactly one Set-Cookie even when every slot is taken", () => {
    const jar = issueAll(logins, [["s1", NOW], ["s2", NOW + 1], ["s3", NOW + 2]]);
    expect([...jar.keys()].sort()).toEqual([slot(0), slot(1), slot(2)]);
    const issued = logins.issue(transaction("s4", NOW + 3), jar, NOW);
    expect(issued).toHaveLength(1);
    expect(issued[0]).not.toMatch(/Max-Age=0/);
    expect(apply(issued, jar).size).toBe(3);
  });

  it("a new login takes the oldest slot when maxPending logins are pending", () => {
    // Slot 1 holds the oldest login although it was not written first.
    const jar = issueAll(logins, [["s1", NOW + 3], ["s2", NOW + 1], ["s3", NOW + 2]]);
    const issued = logins.issue(transaction("s4", NOW + 4), jar, NOW);
    expect(namesOf(issued)).toEqual([slot(1)]);
    apply(issued, jar);
    expect(logins.take("s2", jar, NOW).txn).toBeNull();
    for (const state of ["s1", "s3", "s4"]) expect(logins.take(state, jar, NOW).txn?.state, state).toBe(state);
  });

  it("fills the first free slot before overwriting any pending login", () => {
    const jar = issueAll(logins, [["s1", NOW], ["s2", NOW + 1], ["s3", NOW + 2]]);
    apply(logins.take("s2", jar, NOW).clear, jar);
    const issued = logins.issue(transaction("s4", NOW + 3), jar, NOW);
    expect(namesOf(issued)).toEqual([slot(1)]);
    apply(issued, jar);
    for (const state of ["s1", "s3", "s4"]) expect(logins.take(state, jar, NOW).txn?.state, state).toBe(state);
  });

  it("two tabs logging in at once each complete with their own state", () => {
    const jar = issueAll(logins, [["tab-a", NOW], ["tab-b", NOW + 1]]);
    const b = logins.take("tab-b", jar, NOW + 2);
    expect(b.txn).toEqual(transaction("tab-b", NOW + 1));
    apply(b.clear, jar);
    const a = logins.take("tab-a", jar, NOW + 3);
    expect(a.txn).toEqual(transaction("tab-a", NOW));
    apply(a.clear, jar);
    expect(jar.size).toBe(0);
  });

  it("take finds a transaction in any slot and clears only that slot", () => {
    const jar = issueAll(logins, [["s1", NOW], ["s2", NOW + 1], ["s3", NOW + 2]]);
    for (const [state, index] of [["s1", 0], ["s2", 1], ["s3", 2]] as const) {
      const taken = logins.take(state, jar, NOW + 30);
      expect(taken.txn?.state).toBe(state);
      expect(taken.clear).toEqual([EXPIRED(slot(index))]);
    }
  });

  it("finds nothing after the cookie was taken (replayed callback)", () => {
    const jar = apply(logins.issue(transaction("state-1"), new Map(), NOW));
    apply(logins.take("state-1", jar, NOW).clear, jar);
    expect(logins.take("state-1", jar, NOW)).toEqual({ txn: null, clear: [] });
  });

  it("returns no transaction and clears nothing for an unknown, empty or oversized state", () => {
    const jar = apply(logins.issue(transaction("state-1"), new Map(), NOW));
    expect(logins.take("state-2", jar, NOW)).toEqual({ txn: null, clear: [] });
    expect(logins.take("", jar, NOW)).toEqual({ txn: null, clear: [] });
    expect(logins.take("x".repeat(10_000), jar, NOW)).toEqual({ txn: null, clear: [] });
    expect(logins.take("state-", jar, NOW)).toEqual({ txn: null, clear: [] });
  });

  it("a cookie moved to another slot name still needs its own state", () => {
    const sealed = apply(logins.issue(transaction("state-1"), new Map(), NOW)).get(slot(0))!;
    const moved = new Map([[slot(2), sealed]]);
    expect(logins.take("state-2", moved, NOW)).toEqual({ txn: null, clear: [] });
    const taken = logins.take("state-1", moved, NOW);
    expect(taken.txn?.state).toBe("state-1");
    expect(taken.clear).toEqual([EXPIRED(slot(2))]);
  });

  it("counts tampered, expired, foreign and duplicated slots as free, and take skips them", () => {
    const sealed = apply(logins.issue(transaction("state-1"), new Map(), NOW)).get(slot(0))!;
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
      // Slots 0 and 2 hold live logins; the bad value sits in slot 1 and is the one overwritten.
      const jar = new Map([
        [slot(0), sealer.seal(transaction("live-0", now - 5), now + 600)],
        [slot(1), value],
        [slot(2), sealer.seal(transaction("live-2", now - 1), now + 600)],
      ]);
      expect(namesOf(logins.issue(transaction("new", now), jar, now)), label).toEqual([slot(1)]);
      expect(logins.take("state-1", jar, now), label).toEqual({ txn: null, clear: [] });
      expect(logins.take("live-2", jar, now).clear, label).toEqual([EXPIRED(slot(2))]);
    }
  });

  it("skips a duplicated slot name at take and finds the transaction in another slot", () => {
    const jar = apply(logins.issue(transaction("state-1"), new Map([[slot(0), DUPLICATE_COOKIE]]), NOW));
    expect([...jar.keys()]).toEqual([slot(0)]);
    const moved = new Map([[slot(0), DUPLICATE_COOKIE], [slot(1), jar.get(slot(0))!]]);
    const taken = logins.take("state-1", moved, NOW);
    expect(taken.txn?.state).toBe("state-1");
    expect(taken.clear).toEqual([EXPIRED(slot(1))]);
  });

  it("ignores unrelated cookies and names outside its slots", () => {
    const jar = new Map([
      ["other", "1"],
      [`${PREFIX}.3`, sealer.seal(transaction("outside"), NOW + 600)],
      [`${PREFIX}.01`, sealer.seal(transaction("padded"), NOW + 600)],
      ["__Host-portcullis", "1.abc"],
    ]);
    expect(namesOf(logins.issue(transaction("s1"), jar, NOW))).toEqual([slot(0)]);
    expect(logins.take("outside", jar, NOW)).toEqual({ txn: null, clear: [] });
    expect(logins.take("padded", jar, NOW)).toEqual({ txn: null, clear: [] });
  });

  it("unseals at most maxPending cookies per issue or take", () => {
    let unseals = 0;
    const counting: CookieSealer = {
      seal: (payload, expiresAt) => sealer.seal(payload, expiresAt),
      unseal: (value, now) => {
        unseals++;
        return sealer.unseal(value, now);
      },
    };
    const bounded = createLoginTransactionCookies({ prefix: PREFIX, domain: null, sealer: counting, ttlSeconds: 600, maxPending: 3 });
    const jar = issueAll(bounded, [["s1", NOW], ["s2", NOW + 1], ["s3", NOW + 2]]);
    for (let index = 3; index < 200; index++) jar.set(`${PREFIX}.${index}`, sealer.seal(transaction(`x${index}`), NOW + 600));
    unseals = 0;
    bounded.issue(transaction("s4", NOW + 3), jar, NOW);
    expect(unseals).toBe(3);
    unseals = 0;
    expect(bounded.take("x150", jar, NOW).txn).toBeNull();
    expect(unseals).toBe(3);
  });

  it("owns only names of its prefix with a slot number below maxPending", () => {
    expect(logins.owns(slot(0))).toBe(true);
    expect(logins.owns(slot(2))).toBe(true);
    expect(logins.owns(slot(3))).toBe(false);
    expect(logins.owns(`${PREFIX}.01`)).toBe(false);
    expect(logins.owns(`${PREFIX}.-1`)).toBe(false);
    expect(logins.owns(`${PREFIX}.1.0`)).toBe(false);
    expect(logins.owns(`${PREFIX}.`)).toBe(false);
    expect(logins.owns(`${PREFIX}.x`)).toBe(false);
    expect(logins.owns(PREFIX)).toBe(false);
    expect(logins.owns("__Host-portcullis")).toBe(false);
    expect(logins.owns("__Host-portcullis.1")).toBe(false);
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
    expect(() => createLoginTransactionCookies({ ...base, maxPending: 21 })).toThrow(/maxPending/);
    expect(() => createLoginTransactionCookies({ ...base, maxPending: 1.5 })).toThrow(/maxPending/);
    expect(() => createLoginTransactionCookies({ ...base, domain: "example.com" })).toThrow(/__Host-/);
    expect(() => createLoginTransactionCookies({ ...base, prefix: "bad prefix" })).toThrow(/cookie name/);
    const shared = createLoginTransactionCookies({ ...base, prefix: "portcullis-login", domain: "example.com" });
    expect(shared.issue(transaction("s1"), new Map(), NOW)[0]).toContain("; Domain=example.com;");
  });

  it("with a single slot, a new login replaces the pending one", () => {
    const single = createLoginTransactionCookies({ ...{ prefix: PREFIX, domain: null, sealer, ttlSeconds: 600 }, maxPending: 1 });
    const jar = issueAll(single, [["first", NOW], ["second", NOW + 1]]);
    expect([...jar.keys()]).toEqual([slot(0)]);
    expect(single.take("first", jar, NOW).txn).toBeNull();
    expect(single.take("second", jar, NOW).txn?.state).toBe("second");
  });
});
