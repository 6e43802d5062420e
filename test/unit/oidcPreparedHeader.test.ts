// verifyCompactJws keeps a header that passed its checks per key set, so the next token under the
// same header goes straight to its signature. What that must never change: every token's own
// signature is still checked, a header means the key of the set it is verified with (a refreshed
// set with another key under the same kid), the allowlist it is verified against, a refused header
// is refused every time, many distinct headers still verify, and the kept header cannot be changed
// by whoever reads it.
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createKeySetIndex, type KeySetIndex } from "../../src/oidc/KeySetIndex.ts";
import { mapVerifyError } from "../../src/oidc/mapVerifyError.ts";
import { readKeySet } from "../../src/oidc/readKeySet.ts";
import { verifyCompactJws } from "../../src/oidc/verifyCompactJws.ts";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const rsaPair = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const first = rsaPair();
const second = rsaPair();

const indexOf = (...keys: { publicKey: KeyObject; kid: string }[]): KeySetIndex =>
  createKeySetIndex(
    readKeySet(keys.map(({ publicKey, kid }) => ({ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256" }))).keys,
  );

function token(privateKey: KeyObject, header: Record<string, unknown>, claims: Record<string, unknown> = {}): string {
  const input = `${b64(header)}.${b64({ sub: "u", ...claims })}`;
  return `${input}.${sign("sha256", Buffer.from(input), privateKey).toString("base64url")}`;
}

const RS256 = new Set(["RS256"]);
const code = (checked: ReturnType<typeof verifyCompactJws>) => (checked.ok ? "ok" : mapVerifyError(checked.error).code);

describe("verifyCompactJws with a kept header", () => {
  it("checks each token's own signature under a header it has already accepted", () => {
    const index = indexOf({ publicKey: first.publicKey, kid: "k" });
    const header = { alg: "RS256", kid: "k", typ: "JWT" };
    expect(code(verifyCompactJws(token(first.privateKey, header, { n: 1 }), index, RS256))).toBe("ok");
    expect(code(verifyCompactJws(token(second.privateKey, header, { n: 2 }), index, RS256))).toBe("signature_invalid");
    const valid = token(first.privateKey, header, { n: 3 });
    const swapped = `${valid.slice(0, valid.lastIndexOf("."))}.${token(first.privateKey, header, { n: 4 }).split(".")[2]}`;
    expect(code(verifyCompactJws(swapped, index, RS256))).toBe("signature_invalid");
    expect(code(verifyCompactJws(valid, index, RS256))).toBe("ok");
  });

  it("verifies with the key of the set it is given: a refreshed set with another key under the same kid", () => {
    const before = indexOf({ publicKey: first.publicKey, kid: "k" });
    const after = indexOf({ publicKey: second.publicKey, kid: "k" });
    const header = { alg: "RS256", kid: "k" };
    expect(code(verifyCompactJws(token(first.privateKey, header), before, RS256))).toBe("ok");
    expect(code(verifyCompactJws(token(first.privateKey, header), after, RS256))).toBe("signature_invalid");
    expect(code(verifyCompactJws(token(second.privateKey, header), after, RS256))).toBe("ok");
    expect(code(verifyCompactJws(token(second.privateKey, header), before, RS256))).toBe("signature_invalid");
    const checked = verifyCompactJws(token(second.privateKey, header), after, RS256);
    expect(checked.ok && checked.signedBy).toBe(after.thumbprints.values().next().value);
  });

  it("checks the alg against the allowlist it is given, whatever was accepted before", () => {
    const index = indexOf({ publicKey: first.publicKey, kid: "k" });
    const signed = token(first.privateKey, { alg: "RS256", kid: "k" });
    expect(code(verifyCompactJws(signed, index, RS256))).toBe("ok");
    expect(code(verifyCompactJws(signed, index, new Set(["ES256"])))).toBe("alg_not_allowed");
    expect(code(verifyCompactJws(signed, index, new Set(["PS256", "RS256"])))).toBe("ok");
  });

  it("refuses a refused header every time", () => {
    const index = indexOf({ publicKey: first.publicKey, kid: "k" });
    for (const header of [
      { alg: "RS256", kid: "other" },
      { alg: "HS256", kid: "k" },
      { alg: "RS256", kid: "k", crit: ["exp"], exp: 1 },
      { alg: "RS256", kid: "k", b64: false, crit: ["b64"] },
    ]) {
      const signed = token(first.privateKey, header);
      const once = code(verifyCompactJws(signed, index, RS256));
      expect(once).not.toBe("ok");
      expect(code(verifyCompactJws(signed, index, RS256))).toBe(once);
    }
  });

  it("verifies tokens under many distinct headers, more than it keeps", () => {
    const index = indexOf({ publicKey: first.publicKey, kid: "k" });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 100; i++) {
        const header = { alg: "RS256", kid: "k", x: i };
        expect(code(verifyCompactJws(token(first.privateKey, header, { i }), index, RS256))).toBe("ok");
        expect(code(verifyCompactJws(token(second.privateKey, header, { i }), index, RS256))).toBe("signature_invalid");
      }
    }
  });

  it("hands out a header no reader can change", () => {
    const index = indexOf({ publicKey: first.publicKey, kid: "k" });
    const header = { alg: "RS256", kid: "k", typ: "at+jwt", extra: { nested: ["a"] } };
    const checked = verifyCompactJws(token(first.privateKey, header), index, RS256);
    if (!checked.ok) throw new Error("expected a verified token");
    const kept = checked.header as Record<string, unknown> & { extra: { nested: string[] } };
    expect(() => (kept["typ"] = "JWT")).toThrow(TypeError);
    expect(() => kept.extra.nested.push("b")).toThrow(TypeError);
    const again = verifyCompactJws(token(first.privateKey, header, { n: 2 }), index, RS256);
    expect(again.ok && again.header["typ"]).toBe("at+jwt");
  });
});
