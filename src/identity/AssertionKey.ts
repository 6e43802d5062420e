// One key that signs identity assertions: read from config (PEM or JWK), generated at start, or read
// back from Redis (a generated one every replica shares). Its `kid` is the RFC 7638 thumbprint of
// its public key unless a JWK named one; its public JWK is what /.well-known/jwks.json publishes.
// The private key stays a KeyObject: inspecting or logging one shows no key material.
import { createHash, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";
import { assertionKeyAlgorithm, readAssertionPrivateKey } from "../config/assertionSchema.ts";

export type AssertionAlgorithm = "ES256" | "EdDSA";

export interface AssertionKey {
  readonly kid: string;
  readonly alg: AssertionAlgorithm;
  readonly privateKey: KeyObject;
  /** The public JWK as published: key type and curve, public coordinates, kid, alg, use. */
  readonly publicJwk: Readonly<Record<string, string>>;
}

/** The keys of one moment: the one that signs, and every one published (it among them). */
export interface AssertionKeySet {
  readonly signing: AssertionKey;
  readonly published: readonly AssertionKey[];
}

/** A configured key (PEM or JWK text, already checked by the config schema); throws without quoting it. */
export function readAssertionKey(text: string): AssertionKey {
  const privateKey = readAssertionPrivateKey(text);
  if (privateKey === null) throw new Error("identity.assertion.keys: a key could not be read");
  let kid: string | undefined;
  if (text.trim().startsWith("{")) {
    const named = (JSON.parse(text) as { kid?: unknown }).kid;
    if (typeof named === "string" && named.length > 0) kid = named;
  }
  return assertionKeyOf(privateKey, kid);
}

/** A new key of `alg`, made in this process. */
export function generateAssertionKey(alg: AssertionAlgorithm): AssertionKey {
  const { privateKey } =
    alg === "EdDSA" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return assertionKeyOf(privateKey);
}

/** The private JWK's JSON (kid included), to hold a generated key where replicas read it. */
export function exportAssertionKey(key: AssertionKey): string {
  return JSON.stringify({ ...(key.privateKey.export({ format: "jwk" }) as JsonWebKey), kid: key.kid });
}

/** The key set of a configured key list: the first signs, all are published. */
export function configuredKeySet(texts: readonly string[]): AssertionKeySet | null {
  if (texts.length === 0) return null;
  const keys = texts.map(readAssertionKey);
  return { signing: keys[0]!, published: keys };
}

function assertionKeyOf(privateKey: KeyObject, kid?: string): AssertionKey {
  const alg = assertionKeyAlgorithm(privateKey);
  if (alg !== "ES256" && alg !== "EdDSA") throw new Error(`identity.assertion key ${alg}`);
  const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as JsonWebKey;
  const members: Record<string, string> =
    jwk.kty === "EC"
      ? { crv: String(jwk.crv), kty: "EC", x: String(jwk.x), y: String(jwk.y) }
      : { crv: String(jwk.crv), kty: String(jwk.kty), x: String(jwk.x) };
  // RFC 7638: the required members, in lexicographic order, without white space.
  const thumbprint = createHash("sha256").update(JSON.stringify(members)).digest("base64url");
  const id = kid ?? thumbprint;
  return { kid: id, alg, privateKey, publicJwk: Object.freeze({ ...members, kid: id, alg, use: "sig" }) };
}
