import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTokenCache } from "../../src/oidc/TokenCache.ts";

describe("TokenCache", () => {
  it("keys entries by a SHA-256 digest, never the token itself", () => {
    const cache = createTokenCache({ maxEntries: 10, now: () => 0 });
    const token = "header.payload.signature";
    const key = cache.keyOf(token);
    expect(key).toBe(createHash("sha256").update(token, "utf8").digest("base64url"));
    expect(key).not.toContain("payload");
  });

  it("returns an entry until its exp and drops it at exp", () => {
    let clock = 1_000_000;
    const cache = createTokenCache({ maxEntries: 10, now: () => clock });
    cache.set("k", { provider: "demo", claims: {}, expiresAt: 1_000 + 10 }, "key-1");
    expect(cache.get("k")?.provider).toBe("demo");
    clock = 1_009_999;
    expect(cache.get("k")).toBeDefined();
    clock = 1_010_000;
    expect(cache.get("k")).toBeUndefined();
    expect(cache.size()).toBe(0);
  });

  it("does not store an entry that is already at or past its exp", () => {
    const cache = createTokenCache({ maxEntries: 10, now: () => 2_000_000 });
    cache.set("k", { provider: "demo", claims: {}, expiresAt: 2_000 }, "key-1");
    expect(cache.size()).toBe(0);
  });

  it("evicts the least recently used entry beyond maxEntries", () => {
    const cache = createTokenCache({ maxEntries: 2, now: () => 0 });
    for (const k of ["a", "b"]) cache.set(k, { provider: "demo", claims: {}, expiresAt: 100 }, "key-1");
    cache.get("a");
    cache.set("c", { provider: "demo", claims: {}, expiresAt: 100 }, "key-1");
    expect(cache.size()).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
  });

  it("drops the entries verified by a removed key, only for that provider, and keeps the others", () => {
    const cache = createTokenCache({ maxEntries: 10, now: () => 0 });
    cache.set("a", { provider: "demo", claims: {}, expiresAt: 100 }, "old-key");
    cache.set("b", { provider: "demo", claims: {}, expiresAt: 100 }, "new-key");
    cache.set("c", { provider: "other", claims: {}, expiresAt: 100 }, "old-key");
    expect(cache.evictSignedBy("demo", new Set(["old-key"]))).toBe(1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
  });

  it("hands back one frozen verify() outcome per token, with the very claims object it was given", () => {
    const cache = createTokenCache({ maxEntries: 10, now: () => 0 });
    const claims = { sub: "alice" };
    cache.set("k", { provider: "demo", claims, expiresAt: 100 }, "key-1");
    const hit = cache.get("k");
    expect(hit).toEqual({ ok: true, provider: "demo", claims, expiresAt: 100 });
    expect(hit?.claims).toBe(claims);
    expect(cache.get("k")).toBe(hit);
    expect(Object.isFrozen(hit)).toBe(true);
  });

  it("refuses a non-positive maxEntries at construction", () => {
    expect(() => createTokenCache({ maxEntries: 0, now: () => 0 })).toThrow(TypeError);
  });
});
