import { createHash } from "node:crypto";
import { describe, it, expect } from "vitest";
import { createCookieSealer, type CookieSealer } from "../../src/session/createCookieSealer.ts";
import { createLoginTransactionCookies, MAX_SCAN } from "../../src/session/createLoginTransactionCookies.ts";
import type { LoginTransaction } from "../../src/session/LoginTransaction.ts";
import { DUPLICATE_COOKIE } from "../../src/session/parseCookieHeader.ts";

const NOW = 1_700_000_000;
const KEY = "login-transaction-test-key-0123456789abcdef";
const sealer = createCookieSealer({ keys: [KEY], purpose: "login" });
const PREFIX = "__Host-portcullis-login";
/** The cookie name a login with this state is first written under. */
const nameFor = (state: string): string =>
  `${PREFIX}.${createHash("sha256").update(state, "utf8").digest("base64url").slice(0, 16)}`;
const EXPIRED = (name: string): string => `${name}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
const OPTIONS = { prefix: PREFIX, domain: null, sealer, ttlSeconds: 600, maxPending: 3 };

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
function issueAll(
  logins: ReturnType<typeof createLoginTransactionCookies>,
  entries: ReadonlyArray<readonly [string, number]>,
): Map<string, string> {
  const jar = new Map<string, string>();
  for (const [state, at] of entries) apply(logins.issue(transaction(state, at), jar, NOW), jar);
  return jar;
}

function countingSealer(): { sealer: CookieSealer; unseals: () => number; reset: () => void } {
  let unseals = 0;
  return {
    sealer: {
      seal: (payload, expiresAt) => sealer.seal(payload, expiresAt),
      unseal: (value, now) => {
        unseals++;
        return sealer.unseal(value, now);
      },
    },
    unseals: () => unseals,
    reset: () => {
      unseals = 0;
    },
  };
}

describe("createLoginTransactionCookies", () => {
  const logins = createLoginTransactionCookies(OPTIONS);

  it("issues one sealed, short-lived cookie named after the state's digest without revealing the transaction", () => {
    const issued = logins.issue(transaction("state-1"), new Map(), NOW);
    expect(issued).toHaveLength(1);
    expect(namesOf(issued)).toEqual([nameFor("state-1")]);
    expect(issued[0]).toMatch(
      new RegExp(`^${PREFIX}\\.[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]+; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$`),
    );
    expect(issued[0]).not.toContain("state-1");
    expect(issued[0]).not.toContain("verifier");
  });

  it("two tabs logging in at once from an empty cookie jar get different cookies and both complete", () => {
    // Both requests left the browser before either answer arrived: each saw an empty jar.
    const tabA = logins.issue(transaction("tab-a", NOW), new Map(), NOW);
    const tabB = logins.issue(transaction("tab-b", NOW), new Map(), NOW);
    expect(namesOf(tabA)).not.toEqual(namesOf(tabB));
    const jar = apply([...tabA, ...tabB]);
    expect(jar.size).toBe(2);
    const a = logins.take("tab-a", jar, NOW + 2);
    expect(a.txn).toEqual(transaction("tab-a", NOW));
    expect(a.clear).toEqual([EXPIRED(nameFor("tab-a"))]);
    apply(a.clear, jar);
    const b = logins.take("tab-b", jar, NOW + 3);
    expect(b.txn).toEqual(transaction("tab-b", NOW));
    apply(b.clear, jar);
    expect(jar.size).toBe(0);
  });

  it("issues exactly one Set-Cookie even when maxPending logins are pending", () => {
    const jar = issueAll(logins, [
      ["s1", NOW],
      ["s2", NOW + 1],
      ["s3", NOW + 2],
    ]);
    expect([...jar.keys()].sort()).toEqual(["s1", "s2", "s3"].map(nameFor).sort());
    const issued = logins.issue(transaction("s4", NOW + 3), jar, NOW);
    expect(issued).toHaveLength(1);
    expect(issued[0]).not.toMatch(/Max-Age=0/);
    expect(apply(issued, jar).size).toBe(3);
  });

  it("a new login overwrites the oldest pending login when maxPending are pending", () => {
    // s2 is the oldest login although it was not written first.
    const jar = issueAll(logins, [
      ["s1", NOW + 3],
      ["s2", NOW + 1],
      ["s3", NOW + 2],
    ]);
    const issued = logins.issue(transaction("s4", NOW + 4), jar, NOW);
    expect(namesOf(issued)).toEqual([nameFor("s2")]);
    apply(issued, jar);
    expect(jar.size).toBe(3);
    expect(logins.take("s2", jar, NOW).txn).toBeNull();
    for (const state of ["s1", "s3", "s4"]) expect(logins.take(state, jar, NOW).txn?.state, state).toBe(state);
  });

  it("on a tie in age, overwrites the pending login with the lowest cookie name", () => {
    const jar = issueAll(logins, [
      ["t1", NOW],
      ["t2", NOW],
      ["t3", NOW],
    ]);
    const lowest = ["t1", "t2", "t3"].map(nameFor).sort()[0];
    expect(namesOf(logins.issue(transaction("t4", NOW + 1), jar, NOW))).toEqual([lowest]);
  });

  it("stops the pending logins from growing once tabs racing from one jar went past maxPending", () => {
    const jar = issueAll(logins, [
      ["s1", NOW],
      ["s2", NOW + 1],
    ]);
    // Two tabs both saw two pending logins, so both were written under their own names.
    const racing = [
      logins.issue(transaction("r1", NOW + 2), jar, NOW),
      logins.issue(transaction("r2", NOW + 3), jar, NOW),
    ];
    racing.forEach((issued) => apply(issued, jar));
    expect(jar.size).toBe(4);
    const issued = logins.issue(transaction("s5", NOW + 4), jar, NOW);
    expect(namesOf(issued)).toEqual([nameFor("s1")]);
    expect(apply(issued, jar).size).toBe(4);
  });

  it("take finds a transaction written over an evicted login's name", () => {
    const jar = issueAll(logins, [
      ["s1", NOW],
      ["s2", NOW + 1],
      ["s3", NOW + 2],
    ]);
    apply(logins.issue(transaction("s4", NOW + 3), jar, NOW), jar);
    expect(jar.has(nameFor("s4"))).toBe(false);
    const taken = logins.take("s4", jar, NOW + 30);
    expect(taken.txn).toEqual(transaction("s4", NOW + 3));
    expect(taken.clear).toEqual([EXPIRED(nameFor("s1"))]);
    apply(taken.clear, jar);
    expect(jar.size).toBe(2);
    for (const state of ["s2", "s3"]) expect(logins.take(state, jar, NOW).txn?.state, state).toBe(state);
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

  it("a cookie under another state's name still needs its own state", () => {
    const sealed = apply(logins.issue(transaction("state-1"), new Map(), NOW)).get(nameFor("state-1"))!;
    const moved = new Map([[nameFor("state-2"), sealed]]);
    expect(logins.take("state-2", moved, NOW)).toEqual({ txn: null, clear: [] });
    const taken = logins.take("state-1", moved, NOW);
    expect(taken.txn?.state).toBe("state-1");
    expect(taken.clear).toEqual([EXPIRED(nameFor("state-2"))]);
  });

  it("tampered, expired, foreign, duplicated cookies do not count as pending and take skips them", () => {
    const sealed = apply(logins.issue(transaction("state-1"), new Map(), NOW)).get(nameFor("state-1"))!;
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
      // Two live logins and the bad value: with maxPending 3 the new login gets its own name.
      const jar = new Map([
        [nameFor("live-0"), sealer.seal(transaction("live-0", now - 5), now + 600)],
        [nameFor("state-1"), value],
        [nameFor("live-2"), sealer.seal(transaction("live-2", now - 1), now + 600)],
      ]);
      expect(namesOf(logins.issue(transaction("new", now), jar, now)), label).toEqual([nameFor("new")]);
      expect(logins.take("state-1", jar, now), label).toEqual({ txn: null, clear: [] });
      expect(logins.take("live-2", jar, now).clear, label).toEqual([EXPIRED(nameFor("live-2"))]);
    }
  });

  it("take skips a duplicated name of the state and finds the transaction under another name", () => {
    const sealed = apply(logins.issue(transaction("state-1"), new Map(), NOW)).get(nameFor("state-1"))!;
    const jar = new Map([
      [nameFor("state-1"), DUPLICATE_COOKIE],
      [nameFor("other"), sealed],
    ]);
    const counting = countingSealer();
    const taken = createLoginTransactionCookies({ ...OPTIONS, sealer: counting.sealer }).take("state-1", jar, NOW);
    expect(taken.txn?.state).toBe("state-1");
    expect(taken.clear).toEqual([EXPIRED(nameFor("other"))]);
    // A name sent twice is not read at all: either copy may be a sibling host's.
    expect(counting.unseals()).toBe(1);
  });

  it("ignores unrelated cookies and names that are not its prefix with a 16-character id", () => {
    const live = (state: string) => sealer.seal(transaction(state), NOW + 600);
    const jar = new Map([
      ["other", "1"],
      [`${PREFIX}.0`, live("slot")],
      [`${PREFIX}.${"A".repeat(15)}`, live("short")],
      [`${PREFIX}.${"A".repeat(17)}`, live("long")],
      [`portcullis-login.${"A".repeat(16)}`, live("unprefixed")],
      ["__Host-portcullis", "1.abc"],
    ]);
    // None of them counts as pending, so the new login is not written over any of them.
    expect(namesOf(logins.issue(transaction("s1"), jar, NOW))).toEqual([nameFor("s1")]);
    for (const state of ["slot", "short", "long", "unprefixed"]) {
      expect(logins.take(state, jar, NOW), state).toEqual({ txn: null, clear: [] });
    }
  });

  it("unseals at most MAX_SCAN cookies per issue or take, and one when the state's own name holds it", () => {
    const counting = countingSealer();
    const bounded = createLoginTransactionCookies({ ...OPTIONS, sealer: counting.sealer });
    const jar = new Map<string, string>();
    for (let index = 0; index < 200; index++)
      jar.set(nameFor(`x${index}`), sealer.seal(transaction(`x${index}`, NOW + index), NOW + 600));
    counting.reset();
    expect(bounded.issue(transaction("new", NOW + 999), jar, NOW)).toHaveLength(1);
    expect(counting.unseals()).toBe(MAX_SCAN);
    counting.reset();
    expect(bounded.take("unknown", jar, NOW).txn).toBeNull();
    expect(counting.unseals()).toBe(MAX_SCAN);
    counting.reset();
    expect(bounded.take("x150", jar, NOW).txn?.state).toBe("x150");
    expect(counting.unseals()).toBe(1);
    // A transaction under a foreign name beyond the first MAX_SCAN of ours is not looked for.
    const moved = new Map(jar);
    moved.set(nameFor("elsewhere"), jar.get(nameFor("x199"))!);
    moved.delete(nameFor("x199"));
    counting.reset();
    expect(bounded.take("x199", moved, NOW).txn).toBeNull();
    expect(counting.unseals()).toBe(MAX_SCAN);
  });

  it("owns only its prefix, a dot and exactly 16 base64url characters", () => {
    expect(logins.owns(nameFor("state-1"))).toBe(true);
    expect(logins.owns(`${PREFIX}.AAAAAAAAAAAAAAAA`)).toBe(true);
    expect(logins.owns(`${PREFIX}.aZ09-_aZ09-_aZ09`)).toBe(true);
    expect(logins.owns(`${PREFIX}.${"A".repeat(15)}`)).toBe(false);
    expect(logins.owns(`${PREFIX}.${"A".repeat(17)}`)).toBe(false);
    expect(logins.owns(`${PREFIX}.AAAAAAAAAAAAAAA=`)).toBe(false);
    expect(logins.owns(`${PREFIX}.AAAAAAAAAAAAAAA+`)).toBe(false);
    expect(logins.owns(`${PREFIX}.AAAAAAA.AAAAAAAA`)).toBe(false);
    expect(logins.owns(`${PREFIX}.0`)).toBe(false);
    expect(logins.owns(`${PREFIX}.`)).toBe(false);
    expect(logins.owns(PREFIX)).toBe(false);
    expect(logins.owns(`${PREFIX}x${"A".repeat(16)}`)).toBe(false);
    expect(logins.owns(`portcullis-login.${"A".repeat(16)}`)).toBe(false);
    expect(logins.owns("__Host-portcullis")).toBe(false);
    expect(logins.owns("__Host-portcullis.1")).toBe(false);
  });

  it("refuses an invalid transaction or an oversized state at issue", () => {
    const bad = { ...transaction("s1"), returnTo: "/relative" };
    expect(() => logins.issue(bad, new Map(), NOW)).toThrow(TypeError);
    expect(() => logins.issue(transaction("x".repeat(513)), new Map(), NOW)).toThrow(TypeError);
  });

  it("refuses bad options at construction", () => {
    expect(() => createLoginTransactionCookies({ ...OPTIONS, ttlSeconds: 601 })).toThrow(/ttlSeconds/);
    expect(() => createLoginTransactionCookies({ ...OPTIONS, ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => createLoginTransactionCookies({ ...OPTIONS, maxPending: 0 })).toThrow(/maxPending/);
    expect(() => createLoginTransactionCookies({ ...OPTIONS, maxPending: 21 })).toThrow(/maxPending/);
    expect(() => createLoginTransactionCookies({ ...OPTIONS, maxPending: 1.5 })).toThrow(/maxPending/);
    expect(() => createLoginTransactionCookies({ ...OPTIONS, domain: "example.com" })).toThrow(/__Host-/);
    expect(() => createLoginTransactionCookies({ ...OPTIONS, prefix: "bad prefix" })).toThrow(/cookie name/);
    expect(() => createLoginTransactionCookies({ ...OPTIONS, prefix: "shared", domain: "bad domain" })).toThrow(
      /Domain/,
    );
    const shared = createLoginTransactionCookies({ ...OPTIONS, prefix: "portcullis-login", domain: "example.com" });
    expect(shared.issue(transaction("s1"), new Map(), NOW)[0]).toContain("; Domain=example.com;");
  });

  it("with maxPending 1, a new login replaces the pending one under its name", () => {
    const single = createLoginTransactionCookies({ ...OPTIONS, maxPending: 1 });
    const jar = issueAll(single, [
      ["first", NOW],
      ["second", NOW + 1],
    ]);
    expect([...jar.keys()]).toEqual([nameFor("first")]);
    expect(single.take("first", jar, NOW).txn).toBeNull();
    expect(single.take("second", jar, NOW).txn?.state).toBe("second");
  });
});
