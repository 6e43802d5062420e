// The asymmetric JWS algorithms a bearer token may be verified with, each with the key it needs (the
// same kty and crv rules as jose's table) and how node:crypto's verify() checks it. Symmetric and
// unsigned algorithms (HS*, none) are absent on purpose: no entry, no verification.
export interface JwsAlgorithm {
  /** The JWK `kty` a key must have. */
  readonly kty: "RSA" | "EC" | "OKP";
  /** The JWK `crv` a key must have (EC and OKP). */
  readonly crv: string | undefined;
  /** node:crypto's asymmetricKeyType of such a key. */
  readonly keyType: "rsa" | "ec" | "ed25519";
  /** node:crypto's namedCurve of such an EC key. */
  readonly namedCurve: string | undefined;
  /** The digest verify() applies; null for EdDSA, which hashes by itself. */
  readonly hash: string | null;
  /** RSA-PSS padding with a salt as long as the digest (RFC 7518 §3.5), as WebCrypto checks it. */
  readonly pss: boolean;
  /** ECDSA signatures are r‖s of fixed length in a JWS (RFC 7518 §3.4), not DER. */
  readonly rawEcdsa: boolean;
  /** RSA keys shorter than this are refused (RFC 7518 §3.3, §3.5). */
  readonly minRsaBits: number;
}

const rsa = (hash: string, pss: boolean): JwsAlgorithm => ({
  kty: "RSA",
  crv: undefined,
  keyType: "rsa",
  namedCurve: undefined,
  hash,
  pss,
  rawEcdsa: false,
  minRsaBits: 2048,
});
const ecdsa = (crv: string, namedCurve: string, hash: string): JwsAlgorithm => ({
  kty: "EC",
  crv,
  keyType: "ec",
  namedCurve,
  hash,
  pss: false,
  rawEcdsa: true,
  minRsaBits: 0,
});
const eddsa: JwsAlgorithm = {
  kty: "OKP",
  crv: "Ed25519",
  keyType: "ed25519",
  namedCurve: undefined,
  hash: null,
  pss: false,
  rawEcdsa: false,
  minRsaBits: 0,
};

const ALGORITHMS: ReadonlyMap<string, JwsAlgorithm> = new Map([
  ["RS256", rsa("sha256", false)],
  ["RS384", rsa("sha384", false)],
  ["RS512", rsa("sha512", false)],
  ["PS256", rsa("sha256", true)],
  ["PS384", rsa("sha384", true)],
  ["PS512", rsa("sha512", true)],
  ["ES256", ecdsa("P-256", "prime256v1", "sha256")],
  ["ES384", ecdsa("P-384", "secp384r1", "sha384")],
  ["ES512", ecdsa("P-521", "secp521r1", "sha512")],
  // jose reads both names as Ed25519 (RFC 8037, and the fully-specified name of RFC 9864).
  ["EdDSA", eddsa],
  ["Ed25519", eddsa],
]);

/** undefined for an algorithm no bearer token may use (or one we do not know). */
export function jwsAlgorithm(alg: string): JwsAlgorithm | undefined {
  return ALGORITHMS.get(alg);
}
