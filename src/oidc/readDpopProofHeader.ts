// Reads a DPoP proof's JOSE header (RFC 9449 §4.2, §4.3): `typ` dpop+jwt, an `alg` from the allowlist
// (asymmetric only; config/dpopSchema.ts DPOP_ALGORITHMS at most), and a `jwk` that is a public key of that alg's type: its imported KeyObject and
// its RFC 7638 thumbprint. A client signs every proof under the same header text, so a header that
// passed is kept by that text (bounded) and the client's next proof goes straight to its signature.
import { createPublicKey, type KeyObject, type VerifyKeyObjectInput, constants } from "node:crypto";
import { decodeBase64url, parseJsonObject } from "./compactJwt.ts";
import { jwsAlgorithm, type JwsAlgorithm } from "./jwsAlgorithm.ts";
import { jwkThumbprint } from "./KeySetIndex.ts";

/** A proof header with an RSA-8192 key is about 1.5 KB of base64url; anything far longer is not a proof. */
export const MAX_PROOF_HEADER_CHARS = 4096;

export interface DpopProofHeader {
  readonly alg: string;
  readonly algorithm: JwsAlgorithm;
  /** What node:crypto's verify() takes: the key, with PSS padding or r‖s ECDSA where the alg needs it. */
  readonly keyInput: KeyObject | VerifyKeyObjectInput;
  /** RFC 7638 thumbprint (SHA-256, base64url) of the proof's public key: what `cnf.jkt` names. */
  readonly thumbprint: string;
}

/** The public members a JWK of each key type has (RFC 7518 §6); every other member is left behind. */
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ["kty", "n", "e"],
  EC: ["kty", "crv", "x", "y"],
  OKP: ["kty", "crv", "x"],
};
/** Private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2): never in a proof. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/** An RSA-8192 modulus is 1366 base64url characters; EC and OKP coordinates are far shorter. */
const MAX_MEMBER_CHARS = 1400;
const MAX_RSA_BITS = 8192;

/** Headers that passed, by their base64url text, per allowlist; emptied when full (see the module note). */
const known = new WeakMap<ReadonlySet<string>, Map<string, DpopProofHeader>>();
const MAX_KNOWN_HEADERS = 1024;

/** The header's checks, or why it is refused (a log-safe reason naming no key material). */
export function readDpopProofHeader(headerPart: string, allowed: ReadonlySet<string>): DpopProofHeader | string {
  let byText = known.get(allowed);
  const hit = byText?.get(headerPart);
  if (hit !== undefined) return hit;
  const read = readHeader(headerPart, allowed);
  if (typeof read === "string") return read;
  if (byText === undefined) known.set(allowed, (byText = new Map()));
  if (byText.size >= MAX_KNOWN_HEADERS) byText.clear();
  byText.set(headerPart, read);
  return read;
}

function readHeader(headerPart: string, allowed: ReadonlySet<string>): DpopProofHeader | string {
  if (headerPart.length > MAX_PROOF_HEADER_CHARS)
    return `proof header longer than ${MAX_PROOF_HEADER_CHARS} characters`;
  const bytes = decodeBase64url(headerPart);
  const header = bytes === undefined ? undefined : parseJsonObject(bytes);
  if (header === undefined) return "proof header is not a base64url JSON object";
  // Media types compare case-insensitively (RFC 7515 §4.1.9); only the full name, no "application/".
  if (typeof header["typ"] !== "string" || header["typ"].toLowerCase() !== "dpop+jwt")
    return 'proof header typ is not "dpop+jwt"';
  // No extension is understood here, and an unencoded payload is no JWT.
  if (header["crit"] !== undefined || header["b64"] !== undefined) return "proof header has crit or b64";
  const alg = header["alg"];
  if (typeof alg !== "string" || !allowed.has(alg)) return "proof alg is not allowed";
  const algorithm = jwsAlgorithm(alg);
  if (algorithm === undefined) return "proof alg is not allowed";
  const key = readPublicJwk(header["jwk"], algorithm);
  if (typeof key === "string") return key;
  return { alg, algorithm, keyInput: keyInputOf(key.key, algorithm), thumbprint: key.thumbprint };
}

/** The proof's `jwk` as a public KeyObject of the alg's type, with its thumbprint; or why not. */
function readPublicJwk(jwk: unknown, algorithm: JwsAlgorithm): { key: KeyObject; thumbprint: string } | string {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return "proof header has no jwk object";
  const members = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((name) => Object.hasOwn(members, name)))
    return "proof jwk holds private or symmetric key material";
  if (members["kty"] !== algorithm.kty) return "proof jwk kty does not fit the alg";
  if (algorithm.crv !== undefined && members["crv"] !== algorithm.crv) return "proof jwk crv does not fit the alg";
  const publicJwk: Record<string, string> = {};
  for (const name of PUBLIC_MEMBERS[algorithm.kty] ?? []) {
    const value = members[name];
    if (typeof value !== "string" || value.length === 0 || value.length > MAX_MEMBER_CHARS)
      return `proof jwk member ${name} is missing or not a bounded string`;
    publicJwk[name] = value;
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: publicJwk, format: "jwk" });
  } catch {
    return "proof jwk is not an importable public key";
  }
  if (key.asymmetricKeyType !== algorithm.keyType) return "proof jwk is not of the alg's key type";
  const details = key.asymmetricKeyDetails;
  if (algorithm.namedCurve !== undefined && details?.namedCurve !== algorithm.namedCurve)
    return "proof jwk curve does not fit the alg";
  if (algorithm.minRsaBits > 0) {
    const bits = details?.modulusLength ?? 0;
    if (bits < algorithm.minRsaBits || bits > MAX_RSA_BITS)
      return `proof jwk RSA modulus outside ${algorithm.minRsaBits}..${MAX_RSA_BITS} bits`;
  }
  return { key, thumbprint: jwkThumbprint(publicJwk) };
}

/** verify()'s key argument: RSA-PSS with a salt as long as the digest, ECDSA as r‖s (RFC 7518 §3.4, §3.5). */
function keyInputOf(key: KeyObject, algorithm: JwsAlgorithm): KeyObject | VerifyKeyObjectInput {
  if (algorithm.pss)
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  if (algorithm.rawEcdsa) return { key, dsaEncoding: "ieee-p1363" };
  return key;
}
