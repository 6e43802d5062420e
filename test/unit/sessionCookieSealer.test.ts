import { describe, it, expect } from "vitest";
import { createCipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { createCookieSealer } from "../../src/session/createCookieSealer.ts";

const KEY_A = "a-very-long-secret-for-cookie-key-A-0123456789";
const KEY_B = "a-very-long-secret-for-cookie-key-B-0123456789";
const NOW = 1_700_000_000;
const LATER = NOW + 3600;

function flipCharacter(value: string, index: number): string {
  const replacement = value[index] === "A" ? "B" : "A";
  return value.slice(0, index) + replacement + value.slice(index + 1);
}

function reencode(bytes: Buffer): string {
  return bytes.toString("base64url");
}

describe("createCookieSealer", () => {
  const sealer = createCookieSealer({ keys: [KEY_A], purpose: "session" });

  it("unseals what it sealed", () => {
    const sealed = sealer.seal({ sub: "alice", n: 1, nested: { ok: true } }, LATER);
    expect(sealer.unseal(sealed, NOW)).toEqual({ sub: "alice", n: 1, nested: { ok: true } });
  });

  it("produces a cookie-safe base64url value that does not contain the plaintext", () => {
    const sealed = sealer.seal({ secret: "refresh-token-value" }, LATER);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain("refresh");
    expect(Buffer.from(sealed, "base64url").toString("latin1")).not.toContain("refresh-token-value");
  });

  it("uses a fresh IV for every seal", () => {
    expect(sealer.seal({ a: 1 }, LATER)).not.toBe(sealer.seal({ a: 1 }, LATER));
  });

  it("refuses a tampered value anywhere in it", () => {
    const sealed = sealer.seal({ sub: "alice" }, LATER);
    for (let i = 0; i < sealed.length - 1; i++) {
      expect(sealer.unseal(flipCharacter(sealed, i), NOW), `position ${i}`).toBeNull();
    }
  });

  it("refuses a truncated or extended value", () => {
    const sealed = sealer.seal({ sub: "alice" }, LATER);
    expect(sealer.unseal(sealed.slice(0, -1), NOW)).toBeNull();
    expect(sealer.unseal(sealed.slice(0, 30), NOW)).toBeNull();
    expect(sealer.unseal(sealed.slice(0, 4), NOW)).toBeNull();
    expect(sealer.unseal("", NOW)).toBeNull();
    expect(sealer.unseal(`${sealed}AAAA`, NOW)).toBeNull();
  });

  it("refuses another version byte", () => {
    const bytes = Buffer.from(sealer.seal({ sub: "alice" }, LATER), "base64url");
    bytes[0] = 2;
    expect(sealer.unseal(reencode(bytes), NOW)).toBeNull();
  });

  it("refuses an unknown key id", () => {
    const bytes = Buffer.from(sealer.seal({ sub: "alice" }, LATER), "base64url");
    bytes[1] = bytes[1]! ^ 0xff;
    expect(sealer.unseal(reencode(bytes), NOW)).toBeNull();
  });

  it("refuses a value sealed with a foreign key", () => {
    const foreign = createCookieSealer({ keys: [KEY_B], purpose: "session" });
    expect(sealer.unseal(foreign.seal({ sub: "mallory" }, LATER), NOW)).toBeNull();
  });

  it("never shares a key between purposes", () => {
    const login = createCookieSealer({ keys: [KEY_A], purpose: "login" });
    const sealed = login.seal({ state: "s" }, LATER);
    expect(login.unseal(sealed, NOW)).toEqual({ state: "s" });
    expect(sealer.unseal(sealed, NOW)).toBeNull();
    // Not even the key id is shared, so the purpose cannot be probed by a key-id match.
    expect(sealed.slice(0, 6)).not.toBe(sealer.seal({ state: "s" }, LATER).slice(0, 6));
  });

  it("seals with the first key and unseals with every configured key (rotation)", () => {
    const old = createCookieSealer({ keys: [KEY_A], purpose: "session" });
    const rotated = createCookieSealer({ keys: [KEY_B, KEY_A], purpose: "session" });
    expect(rotated.unseal(old.seal({ era: "old" }, LATER), NOW)).toEqual({ era: "old" });
    const fresh = rotated.seal({ era: "new" }, LATER);
    expect(createCookieSealer({ keys: [KEY_B], purpose: "session" }).unseal(fresh, NOW)).toEqual({ era: "new" });
    expect(old.unseal(fresh, NOW)).toBeNull();
  });

  it("refuses an expired value, expiry instant included", () => {
    const sealed = sealer.seal({ sub: "alice" }, NOW + 10);
    expect(sealer.unseal(sealed, NOW + 9)).toEqual({ sub: "alice" });
    expect(sealer.unseal(sealed, NOW + 10)).toBeNull();
    expect(sealer.unseal(sealed, NOW + 10_000)).toBeNull();
  });

  it("refuses an unusable clock instead of treating the value as fresh", () => {
    expect(sealer.unseal(sealer.seal({ a: 1 }, LATER), Number.NaN)).toBeNull();
  });

  it("refuses a non-canonical base64url spelling of a valid value", () => {
    // Pick a payload whose sealed length leaves unused low bits in the last base64url character.
    let sealed = "";
    for (let pad = 0; pad < 3; pad++) {
      sealed = sealer.seal({ sub: "alice", pad: "x".repeat(pad) }, LATER);
      if (Buffer.from(sealed, "base64url").length % 3 !== 0) break;
    }
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const variant = sealed.slice(0, -1) + alphabet[alphabet.indexOf(sealed.at(-1)!) ^ 1];
    expect(Buffer.from(variant, "base64url").equals(Buffer.from(sealed, "base64url"))).toBe(true);
    expect(sealer.unseal(sealed, NOW)).not.toBeNull();
    expect(sealer.unseal(variant, NOW)).toBeNull();
  });

  it("refuses characters outside base64url and absurdly long values without throwing", () => {
    expect(sealer.unseal("abc;def", NOW)).toBeNull();
    expect(sealer.unseal("a b", NOW)).toBeNull();
    expect(sealer.unseal("A".repeat(70_000), NOW)).toBeNull();
    expect(sealer.unseal(42 as unknown as string, NOW)).toBeNull();
  });

  it("refuses to seal anything but a plain object with a finite expiry", () => {
    expect(() => sealer.seal([1, 2] as unknown as object, LATER)).toThrow(TypeError);
    expect(() => sealer.seal(null as unknown as object, LATER)).toThrow(TypeError);
    expect(() => sealer.seal({ a: 1 }, Number.NaN)).toThrow(TypeError);
  });

  describe("with values built by hand to the documented format", () => {
    // version(1) | keyId(4) | iv(12) | ciphertext | tag(16); key = HKDF-SHA256(secret, salt, info);
    // keyId = SHA-256(key)[0..4); AAD = version | keyId | "|" purpose.
    function sealRaw(plaintext: string, purpose = "session"): string {
      const key = Buffer.from(
        hkdfSync("sha256", KEY_A, "portcullis/cookie-sealer/v1", `portcullis cookie: ${purpose}`, 32),
      );
      const header = Buffer.concat([Buffer.of(1), createHash("sha256").update(key).digest().subarray(0, 4)]);
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.concat([header, Buffer.from(`|${purpose}`)]));
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]).toString("base64url");
    }

    it("accepts a well-formed hand-built value (the format is what the module says)", () => {
      expect(sealer.unseal(sealRaw(JSON.stringify({ exp: LATER, p: { sub: "alice" } })), NOW)).toEqual({
        sub: "alice",
      });
    });

    it("refuses plaintexts that are not an object envelope with an object payload and numeric exp", () => {
      const refused = [
        "not json",
        "[1,2]",
        "42",
        "null",
        '"text"',
        JSON.stringify({ exp: LATER, p: [1] }),
        JSON.stringify({ exp: LATER, p: "alice" }),
        JSON.stringify({ exp: LATER, p: null }),
        JSON.stringify({ p: { sub: "alice" } }),
        JSON.stringify({ exp: String(LATER), p: { sub: "alice" } }),
        '{"exp":1e999,"p":{}}',
      ];
      for (const plaintext of refused) expect(sealer.unseal(sealRaw(plaintext), NOW), plaintext).toBeNull();
    });

    it("refuses a value whose AAD names another purpose even under the right key id", () => {
      // Built with the session key but the "login" purpose in the AAD: the tag must not verify.
      const key = Buffer.from(
        hkdfSync("sha256", KEY_A, "portcullis/cookie-sealer/v1", "portcullis cookie: session", 32),
      );
      const header = Buffer.concat([Buffer.of(1), createHash("sha256").update(key).digest().subarray(0, 4)]);
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.concat([header, Buffer.from("|login")]));
      const body = JSON.stringify({ exp: LATER, p: { sub: "alice" } });
      const ciphertext = Buffer.concat([cipher.update(body, "utf8"), cipher.final()]);
      const value = Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]).toString("base64url");
      expect(sealer.unseal(value, NOW)).toBeNull();
    });
  });

  it("rejects keys shorter than 32 characters without quoting them", () => {
    const shortKey = "short-secret-value";
    let message = "";
    try {
      createCookieSealer({ keys: [KEY_A, shortKey], purpose: "session" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/key #2 .*at least 32 characters/);
    expect(message).not.toContain(shortKey);
    expect(() => createCookieSealer({ keys: ["x".repeat(31)], purpose: "session" })).toThrow(/at least 32/);
    expect(() => createCookieSealer({ keys: ["x".repeat(32)], purpose: "session" })).not.toThrow();
  });

  it("rejects an empty key list or purpose", () => {
    expect(() => createCookieSealer({ keys: [], purpose: "session" })).toThrow(/at least one key/);
    expect(() => createCookieSealer({ keys: [KEY_A], purpose: "" })).toThrow(/purpose/);
  });
});
