// The bearer path's own JWS and claim checks (verifyCompactJws + validateJwtClaims, node:crypto on
// prepared KeyObjects) held to jose's jwtVerify on the same key set and options: thousands of
// generated tokens, validly signed over mutated headers and payloads or carrying mutated
// signatures, must get the same answer (the same denial code, or both accept the same claims).
import { generateKeyPairSync, createHmac, sign, type KeyObject } from "node:crypto";
import { createLocalJWKSet, jwtVerify, type JWTVerifyOptions } from "jose";
import { describe, expect, it } from "vitest";
import { readUnverifiedIssuer } from "../../src/oidc/compactJwt.ts";
import { createKeySetIndex } from "../../src/oidc/KeySetIndex.ts";
import { mapVerifyError } from "../../src/oidc/mapVerifyError.ts";
import { readKeySet } from "../../src/oidc/readKeySet.ts";
import { validateJwtClaims } from "../../src/oidc/validateJwtClaims.ts";
import { verifyCompactJws } from "../../src/oidc/verifyCompactJws.ts";

const NOW = 1_800_000_000;
const TOLERANCE = 60;
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsa2 = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ec384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
const ed = generateKeyPairSync("ed25519");
const jwk = (key: KeyObject, extra: object) => ({ ...key.export({ format: "jwk" }), ...extra });
const JWKS = {
  keys: [
    jwk(rsa.publicKey, { kid: "r1", use: "sig" }),
    jwk(rsa2.publicKey, { kid: "r2", alg: "RS256" }),
    jwk(ec.publicKey, { kid: "e1", alg: "ES256" }),
    jwk(ec384.publicKey, { kid: "e384" }),
    jwk(ed.publicKey, { kid: "d1" }),
    jwk(rsa2.publicKey, { kid: "enc", use: "enc" }),
  ],
};
const index = createKeySetIndex(readKeySet(JWKS.keys).keys);
const joseKeys = createLocalJWKSet(JWKS);

/** A seeded PRNG (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64url");
const ALGS = ["RS256", "PS256", "RS384", "ES256", "ES384", "EdDSA", "Ed25519", "HS256", "none", "", 7, undefined];
const KIDS = ["r1", "r2", "e1", "e384", "d1", "enc", "nope", 1, undefined];
const HEADER_EXTRAS: readonly object[] = [
  {},
  { typ: "JWT" },
  { typ: "at+jwt" },
  { typ: "application/AT+JWT" },
  { typ: "x/at+jwt" },
  { typ: 5 },
  { crit: ["b64"], b64: true },
  { crit: ["b64"], b64: false },
  { crit: ["b64"] },
  { crit: ["b64"], b64: "yes" },
  { crit: ["exp"], exp: 1 },
  { crit: [] },
  { crit: [""] },
  { crit: "b64", b64: true },
  { crit: ["b64", "b64"], b64: true },
  { b64: false },
];
const CLAIM_VARIANTS: Record<string, readonly unknown[]> = {
  aud: ["api", ["other", "api"], "other", ["other"], 5, [1], undefined],
  exp: [NOW + 600, NOW - 30, NOW - 61, NOW - 60, "soon", null, "INFINITY", undefined],
  nbf: [undefined, NOW - 10, NOW + 30, NOW + 61, "now"],
  iat: [undefined, NOW, NOW + 120, "then"],
};

function pick<T>(next: () => number, values: readonly T[]): T {
  return values[Math.floor(next() * values.length)]!;
}

function signWith(alg: unknown, kid: unknown, input: string, next: () => number): Buffer {
  const keyFor = (name: string) =>
    name === "r2"
      ? rsa2.privateKey
      : name === "e1"
        ? ec.privateKey
        : name === "e384"
          ? ec384.privateKey
          : name === "d1"
            ? ed.privateKey
            : rsa.privateKey;
  const data = Buffer.from(input);
  const key = keyFor(typeof kid === "string" ? kid : "r1");
  switch (alg) {
    case "HS256":
      // The classic confusion: the RSA public key as an HMAC secret.
      return createHmac("sha256", rsa.publicKey.export({ format: "pem", type: "spki" }))
        .update(data)
        .digest();
    case "none":
      return Buffer.alloc(0);
    case "ES256":
    case "ES384":
      return key.asymmetricKeyType === "ec"
        ? sign(alg === "ES256" ? "sha256" : "sha384", data, { key, dsaEncoding: next() < 0.15 ? "der" : "ieee-p1363" })
        : Buffer.alloc(64, 1);
    case "EdDSA":
    case "Ed25519":
      return key.asymmetricKeyType === "ed25519" ? sign(null, data, key) : Buffer.alloc(64, 2);
    case "PS256":
      return key.asymmetricKeyType === "rsa"
        ? sign("sha256", data, { key, padding: 6, saltLength: 32 })
        : Buffer.alloc(256);
    default:
      return key.asymmetricKeyType === "rsa"
        ? sign(alg === "RS384" ? "sha384" : "sha256", data, key)
        : Buffer.alloc(256, 3);
  }
}

function mutateSignature(signature: string, next: () => number): string {
  const roll = next();
  if (roll < 0.75) return signature;
  if (roll < 0.8) return `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`; // tampered
  if (roll < 0.85) return signature.slice(0, -4); // shorter
  if (roll < 0.9) return `${signature}AAAA`; // longer
  if (roll < 0.95) return `${signature}A`; // a length of 4n+1
  return "";
}

/** Mostly an algorithm with a key that fits it, so that the checks after the key lookup are reached. */
const COHERENT: readonly (readonly [string, string | undefined])[] = [
  ["RS256", "r1"],
  ["RS256", "r2"],
  ["RS384", "r1"],
  ["PS256", "r1"],
  ["ES256", "e1"],
  ["ES256", undefined],
  ["ES384", "e384"],
  ["EdDSA", "d1"],
  ["Ed25519", "d1"],
];

function generateToken(next: () => number): string {
  const [alg, kid] = next() < 0.6 ? pick(next, COHERENT) : [pick(next, ALGS), pick(next, KIDS)];
  const extras = next() < 0.5 ? pick(next, HEADER_EXTRAS.slice(0, 4)) : pick(next, HEADER_EXTRAS);
  const roll = next();
  const header =
    roll < 0.03
      ? b64("not json")
      : roll < 0.05
        ? b64("[1]")
        : roll < 0.06
          ? b64(Buffer.from([0x7b, 0xff, 0x7d])) // not UTF-8
          : b64(
              JSON.stringify({
                ...(alg === undefined ? {} : { alg }),
                ...(kid === undefined ? {} : { kid }),
                ...extras,
              }),
            );
  const claims: Record<string, unknown> = { iss: "https://idp.example.com", sub: "alice" };
  for (const [name, values] of Object.entries(CLAIM_VARIANTS)) {
    const value = next() < 0.7 ? values[0] : pick(next, values);
    if (value !== undefined) claims[name] = value;
  }
  const payloadRoll = next();
  const payloadText =
    payloadRoll < 0.03
      ? "[]"
      : payloadRoll < 0.05
        ? '"claims"'
        : payloadRoll < 0.06
          ? "{bad"
          : JSON.stringify(claims).replace('"INFINITY"', "1e400"); // JSON for a number that parses to Infinity
  const input = `${header}.${b64(payloadText)}`;
  return `${input}.${mutateSignature(signWith(alg, kid, input, next).toString("base64url"), next)}`;
}

type Answer = { ok: true; claims: unknown } | { ok: false; code: string };

async function joseAnswer(token: string, options: JWTVerifyOptions): Promise<Answer> {
  try {
    const { payload } = await jwtVerify(token, joseKeys, options);
    return { ok: true, claims: payload };
  } catch (error) {
    return { ok: false, code: mapVerifyError(error).code };
  }
}

/** As the registry runs it: the payload read first (readUnverifiedIssuer), then signature, then claims. */
function ownAnswer(
  token: string,
  allowed: ReadonlySet<string>,
  audiences: string[] | undefined,
  typ: string | undefined,
): Answer {
  const read = readUnverifiedIssuer(token);
  if (!read.ok) return { ok: false, code: "token_malformed" };
  const checked = verifyCompactJws(token, index, allowed);
  if (!checked.ok) return { ok: false, code: mapVerifyError(checked.error).code };
  const claims = validateJwtClaims(checked.header, read.claims, {
    audiences,
    typ,
    toleranceSeconds: TOLERANCE,
    nowSeconds: NOW,
  });
  return claims.ok ? { ok: true, claims: claims.claims } : { ok: false, code: mapVerifyError(claims.error).code };
}

/**
 * Where we refuse earlier than jose, for tokens no IdP issues: an unencoded payload (RFC 7797), and
 * a payload that is not a JSON object (read before the signature, to pick the provider).
 */
function knownDifference(token: string, own: Answer, jose: Answer): boolean {
  if (own.ok || own.code !== "token_malformed" || jose.ok) return false;
  const unencoded = Buffer.from(token.split(".")[0]!, "base64url").toString("latin1").includes('"b64":false');
  return unencoded || !readUnverifiedIssuer(token).ok;
}

describe("verifyCompactJws + validateJwtClaims against jose's jwtVerify", () => {
  const settings = [
    {
      name: "aud and RS/PS/ES/EdDSA allowed",
      algorithms: ["RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519"],
      audiences: ["api"],
      typ: undefined,
    },
    { name: "typ at+jwt required, RS256 only", algorithms: ["RS256"], audiences: ["api"], typ: "at+jwt" },
    {
      name: "no aud check (client_id), every algorithm the table knows",
      algorithms: ["RS256", "RS384", "PS256", "ES256", "ES384", "EdDSA"],
      audiences: undefined,
      typ: undefined,
    },
  ] as const;
  for (const setting of settings) {
    it(`gives jose's answer for 1500 generated tokens (${setting.name})`, async () => {
      const next = random(0x5eed + setting.algorithms.length);
      const allowed = new Set<string>(setting.algorithms);
      const options: JWTVerifyOptions = {
        algorithms: [...setting.algorithms],
        ...(setting.audiences === undefined ? {} : { audience: [...setting.audiences] }),
        ...(setting.typ === undefined ? {} : { typ: setting.typ }),
        clockTolerance: TOLERANCE,
        requiredClaims: ["exp"],
        currentDate: new Date(NOW * 1000),
      };
      const outcomes = new Map<string, number>();
      const mismatches: string[] = [];
      for (let i = 0; i < 1500; i++) {
        const token = generateToken(next);
        const own = ownAnswer(token, allowed, setting.audiences?.slice(), setting.typ);
        const jose = await joseAnswer(token, options);
        const label = own.ok ? "ok" : own.code;
        outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
        if (JSON.stringify(own) !== JSON.stringify(jose) && !knownDifference(token, own, jose))
          mismatches.push(
            `${JSON.stringify(own).slice(0, 80)} vs jose ${JSON.stringify(jose).slice(0, 80)}: ${token
              .split(".")
              .slice(0, 2)
              .map((p) => Buffer.from(p, "base64url").toString())
              .join(" . ")}`,
          );
      }
      expect(mismatches.slice(0, 5)).toEqual([]);
      // The generator reaches acceptance and the main denials, not only one kind of failure.
      for (const code of [
        "ok",
        "signature_invalid",
        "alg_not_allowed",
        "key_not_found",
        "token_malformed",
        "token_expired",
      ])
        expect(outcomes.get(code) ?? 0, `${code} in ${JSON.stringify([...outcomes])}`).toBeGreaterThan(0);
    });
  }
});
