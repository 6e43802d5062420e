// Which key of a key set verifies a token (jose's selection rules, by RFC 7638 thumbprint), and which
// members of a fetched set are kept: behind verification, evicting a removed key's tokens and
// skipping bad members.
import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { jwsAlgorithm } from "../../src/oidc/jwsAlgorithm.ts";
import { createKeySetIndex, jwkThumbprint, type KeySetIndex } from "../../src/oidc/KeySetIndex.ts";
import { readKeySet } from "../../src/oidc/readKeySet.ts";

const publicJwk = (type: "rsa" | "ec" | "ed25519", extra: Record<string, unknown> = {}): Record<string, unknown> => {
  const pair =
    type === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : type === "ec"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("ed25519");
  return { ...pair.publicKey.export({ format: "jwk" }), ...extra };
};

describe("jwkThumbprint", () => {
  it.each(["rsa", "ec", "ed25519"] as const)(
    "equals RFC 7638's thumbprint of a %s key, whatever other members it has",
    async (type) => {
      const jwk = publicJwk(type, { kid: "k", use: "sig" });
      expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as JWK));
    },
  );
});

describe("KeySetIndex.select", () => {
  const rsa1 = publicJwk("rsa", { kid: "r1" });
  const rsa2 = publicJwk("rsa", { kid: "r2", alg: "RS256" });
  const ec = publicJwk("ec", { kid: "e1" });
  const usable = (jwk: Record<string, unknown>) => readKeySet([jwk]).keys[0]!;
  const pick = (index: KeySetIndex, alg: string, kid?: unknown): string => {
    const selected = index.select(alg, jwsAlgorithm(alg)!, kid);
    return typeof selected === "string" ? selected : selected.thumbprint;
  };

  it("picks the member with the token's kid and a key type that fits its alg", () => {
    const index = createKeySetIndex([rsa1, rsa2, ec].map(usable));
    expect(pick(index, "RS256", "r2")).toBe(jwkThumbprint(rsa2));
    expect(pick(index, "ES256", "e1")).toBe(jwkThumbprint(ec));
    expect(pick(index, "ES256", "r1")).toBe("none");
    expect(pick(index, "PS256", "r2")).toBe("none"); // r2 is RS256 only
    expect(pick(index, "ES384", "e1")).toBe("none"); // a P-256 key for a P-384 alg
  });

  it("picks the single fitting member of a token without kid, and none when several fit", () => {
    expect(pick(createKeySetIndex([rsa1, ec].map(usable)), "ES256")).toBe(jwkThumbprint(ec));
    expect(pick(createKeySetIndex([rsa1, rsa2].map(usable)), "RS256")).toBe("several");
  });

  it("never picks a member whose use, key_ops or ext forbid verifying, nor by a kid that is not a string", () => {
    const index = createKeySetIndex(
      [
        publicJwk("rsa", { kid: "enc", use: "enc" }),
        publicJwk("rsa", { kid: "ops", key_ops: ["encrypt"] }),
        publicJwk("rsa", { kid: "dup", key_ops: ["verify", "verify"] }),
        publicJwk("rsa", { kid: "ext", ext: "yes" }),
        publicJwk("rsa", { kid: "1" }),
      ].map(usable),
    );
    for (const kid of ["enc", "ops", "dup", "ext"]) expect(pick(index, "RS256", kid)).toBe("none");
    expect(pick(index, "RS256", 1)).toBe("none");
    expect(pick(index, "RS256", "1")).not.toBe("none");
  });

  it("carries the KeyObject imported when the set was read, so no token imports a key", () => {
    const read = usable(rsa1);
    const selected = createKeySetIndex([read]).select("RS256", jwsAlgorithm("RS256")!, "r1");
    expect(typeof selected === "string" ? selected : selected.key).toBe(read.key);
  });
});

describe("readKeySet", () => {
  it("keeps usable members in order and reports the others by position and kid only", () => {
    const good = publicJwk("rsa", { kid: "good" });
    const weak = {
      ...generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" }),
      kid: "weak",
    };
    const withPrivate = {
      ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }),
      kid: "leaked",
    };
    const read = readKeySet([null, good, weak, withPrivate, { kty: "oct", k: "c2VjcmV0" }, { kid: "no-kty" }]);
    expect(read.keys.map((usable) => usable.jwk)).toEqual([good]);
    expect(read.keys[0]!.key.asymmetricKeyType).toBe("rsa");
    expect(read.skipped).toEqual([
      { index: 0, reason: "not a JSON object" },
      { index: 2, kid: "weak", reason: "RSA modulus shorter than 2048 bits" },
      { index: 3, kid: "leaked", reason: "carries private key material" },
      { index: 4, reason: 'kty "oct" cannot verify an asymmetric signature' },
      { index: 5, kid: "no-kty", reason: "no kty" },
    ]);
  });
});
