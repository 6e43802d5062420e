// Which key of a key set verified a token (by RFC 7638 thumbprint), and which members of a fetched
// set are kept: the bookkeeping behind evicting a removed key's tokens and skipping bad members.
import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { createKeySetIndex, jwkThumbprint } from "../../src/oidc/KeySetIndex.ts";
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

describe("KeySetIndex.attribute", () => {
  const rsa1 = publicJwk("rsa", { kid: "r1" });
  const rsa2 = publicJwk("rsa", { kid: "r2", alg: "RS256" });
  const ec = publicJwk("ec", { kid: "e1" });

  it("names the member with the token's kid and a key type that fits its alg", () => {
    const index = createKeySetIndex([rsa1, rsa2, ec]);
    expect(index.attribute({ alg: "RS256", kid: "r2" })).toBe(jwkThumbprint(rsa2));
    expect(index.attribute({ alg: "ES256", kid: "e1" })).toBe(jwkThumbprint(ec));
    expect(index.attribute({ alg: "ES256", kid: "r1" })).toBeUndefined();
    expect(index.attribute({ alg: "PS256", kid: "r2" })).toBeUndefined(); // r2 is RS256 only
  });

  it("names the single fitting member of a token without kid, and nothing when several fit", () => {
    expect(createKeySetIndex([rsa1, ec]).attribute({ alg: "ES256" })).toBe(jwkThumbprint(ec));
    expect(createKeySetIndex([rsa1, rsa2]).attribute({ alg: "RS256" })).toBeUndefined();
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
    expect(read.keys).toEqual([good]);
    expect(read.skipped).toEqual([
      { index: 0, reason: "not a JSON object" },
      { index: 2, kid: "weak", reason: "RSA modulus shorter than 2048 bits" },
      { index: 3, kid: "leaked", reason: "carries private key material" },
      { index: 4, reason: 'kty "oct" cannot verify an asymmetric signature' },
      { index: 5, kid: "no-kty", reason: "no kty" },
    ]);
  });
});
