// Verifies a compact JWS with a provider's prepared key set, synchronously, with node:crypto's
// verify() on the KeyObject imported when the set was adopted (jose's WebCrypto path costs about
// three times the CPU: a thread-pool job per token). The checks are jose's compactVerify's, in its
// order: a JSON-object header, `crit` naming only extensions we understand, `b64`, an alg from the
// configured allowlist (never trusted from the header alone), the one key the header names
// (KeySetIndex.select) of the alg's key type, then the signature over the signing input.
// Failures are jose's own error classes and messages, so mapVerifyError reads them as before.
// A header that passed its checks is kept per key set (preparedHeader): the next token under the
// same header goes straight to its signature.
import { constants, verify, type KeyObject, type VerifyKeyObjectInput } from "node:crypto";
import { errors } from "jose";
import { decodeBase64url, isBase64url, parseJsonObject } from "./compactJwt.ts";
import { deepFreeze } from "../config/deepFreeze.ts";
import { jwsAlgorithm, type JwsAlgorithm } from "./jwsAlgorithm.ts";
import type { KeySetIndex, KeySetMember } from "./KeySetIndex.ts";

export type JwsCheck =
  | {
      readonly ok: true;
      readonly header: Readonly<Record<string, unknown>>;
      /** The thumbprint of the member that verified the signature. */
      readonly signedBy: string;
    }
  | { readonly ok: false; readonly error: errors.JOSEError };

const fail = (error: errors.JOSEError): JwsCheck => ({ ok: false, error });

/** RFC 7515 §4.1.11: `crit` may only name extensions we process; `b64` (RFC 7797) is the one. */
function readCrit(header: Readonly<Record<string, unknown>>): boolean | errors.JOSEError {
  const crit = header["crit"];
  if (crit === undefined) return true;
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((name) => typeof name !== "string" || name.length === 0))
    return new errors.JWSInvalid(
      '"crit" (Critical) Header Parameter MUST be an array of non-empty strings when present',
    );
  for (const name of crit as string[]) {
    // The name comes from an unverified token: bounded for the log.
    if (name !== "b64")
      return new errors.JOSENotSupported(`Extension Header Parameter "${name.slice(0, 40)}" is not recognized`);
    if (!Object.hasOwn(header, name) || header[name] === undefined)
      return new errors.JWSInvalid(`Extension Header Parameter "${name}" is missing`);
  }
  if (!crit.includes("b64")) return true;
  const b64 = header["b64"];
  if (typeof b64 !== "boolean")
    return new errors.JWSInvalid('The "b64" (base64url-encode payload) Header Parameter must be a boolean');
  return b64;
}

/** verify()'s key argument: RSA-PSS with a salt as long as the digest, ECDSA as r‖s. */
function keyInput(key: KeyObject, pss: boolean, rawEcdsa: boolean): KeyObject | VerifyKeyObjectInput {
  if (pss) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  if (rawEcdsa) return { key, dsaEncoding: "ieee-p1363" };
  return key;
}

/** What a header decides before the signature: the header itself, its algorithm and the key to verify with. */
interface PreparedHeader {
  readonly header: Readonly<Record<string, unknown>>;
  readonly algorithm: JwsAlgorithm;
  readonly member: KeySetMember;
  readonly keyInput: KeyObject | VerifyKeyObjectInput;
  /** The allowlist the header was checked against (a provider's own, fixed with its config). */
  readonly allowed: ReadonlySet<string>;
}

/**
 * Headers that passed every check before the signature, per key set, by their base64url text: an
 * IdP signs every token of one key under the same header, so a first-seen token's header is
 * usually decoded, parsed and checked once per key set, not once per token. What a header decides
 * depends only on its text, the key set and the allowlist, all three part of the lookup (a key-set
 * refresh makes a new index, hence an empty map). Refused headers are never kept, and the map is
 * emptied when full, so headers an attacker varies cost only their own checks.
 */
const preparedHeaders = new WeakMap<KeySetIndex, Map<string, PreparedHeader>>();
const MAX_PREPARED_HEADERS = 32;

/** The header's checks in jose's order, up to the key's size; a PreparedHeader or why it is refused. */
function prepareHeader(
  headerPart: string,
  keys: KeySetIndex,
  allowed: ReadonlySet<string>,
): PreparedHeader | errors.JOSEError {
  const headerBytes = decodeBase64url(headerPart);
  const header = headerBytes === undefined ? undefined : parseJsonObject(headerBytes);
  if (header === undefined) return new errors.JWSInvalid("JWS Protected Header is invalid");
  const b64 = readCrit(header);
  if (typeof b64 !== "boolean") return b64;
  const alg = header["alg"];
  if (typeof alg !== "string" || alg.length === 0)
    return new errors.JWSInvalid('JWS "alg" (Algorithm) Header Parameter missing or invalid');
  if (!allowed.has(alg)) return new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  // jose refuses an unencoded payload only after checking its signature; no JWT may use one either way.
  if (!b64) return new errors.JWTInvalid("JWTs MUST NOT use unencoded payload");
  const algorithm = jwsAlgorithm(alg);
  if (algorithm === undefined) return new errors.JOSENotSupported('Unsupported "alg" value for a JSON Web Key Set');
  const member = keys.select(alg, algorithm, header["kid"]);
  if (member === "none") return new errors.JWKSNoMatchingKey();
  if (member === "several") return new errors.JWKSMultipleMatchingKeys();
  // The member's JWK matched the alg's kty and crv; its imported key must be of that kind too.
  if (
    member.keyType !== algorithm.keyType ||
    (algorithm.namedCurve !== undefined && member.namedCurve !== algorithm.namedCurve)
  )
    return new errors.JWKInvalid(`the key the token names cannot verify ${alg}`);
  if (algorithm.minRsaBits > 0 && !((member.modulusLength ?? 0) >= algorithm.minRsaBits))
    return new errors.JWKInvalid(`${alg} requires key modulusLength to be 2048 bits or larger`);
  return {
    header: deepFreeze(header),
    algorithm,
    member,
    keyInput: keyInput(member.key, algorithm.pss, algorithm.rawEcdsa),
    allowed,
  };
}

/** prepareHeader, once per header text and key set (see preparedHeaders). */
function preparedHeader(
  headerPart: string,
  keys: KeySetIndex,
  allowed: ReadonlySet<string>,
): PreparedHeader | errors.JOSEError {
  let known = preparedHeaders.get(keys);
  const hit = known?.get(headerPart);
  if (hit !== undefined && hit.allowed === allowed) return hit;
  const prepared = prepareHeader(headerPart, keys, allowed);
  if (prepared instanceof errors.JOSEError) return prepared;
  if (known === undefined) preparedHeaders.set(keys, (known = new Map()));
  if (known.size >= MAX_PREPARED_HEADERS) known.clear();
  known.set(headerPart, prepared);
  return prepared;
}

/** `allowed`: the provider's algorithm allowlist. Never throws for anything a token holds. */
export function verifyCompactJws(token: string, keys: KeySetIndex, allowed: ReadonlySet<string>): JwsCheck {
  const first = token.indexOf(".");
  const last = token.lastIndexOf(".");
  if (first === -1 || first === last || token.indexOf(".", first + 1) !== last)
    return fail(new errors.JWSInvalid("Invalid Compact JWS"));
  const prepared = preparedHeader(token.slice(0, first), keys, allowed);
  if (prepared instanceof errors.JOSEError) return fail(prepared);
  const signature = decodeBase64url(token.slice(last + 1));
  if (signature === undefined) return fail(new errors.JWSInvalid("Failed to base64url decode the signature"));
  // Checked before the signature (jose: after) so the signing input is known to be base64url: ASCII,
  // one byte per character. The caller has parsed the payload already (readUnverifiedIssuer).
  if (!isBase64url(token.slice(first + 1, last)))
    return fail(new errors.JWSInvalid("Failed to base64url decode the payload"));
  let valid = false;
  try {
    const signingInput = Buffer.from(token.slice(0, last), "latin1");
    valid = verify(prepared.algorithm.hash, signingInput, prepared.keyInput, signature);
  } catch {
    valid = false; // jose: a signature the primitive cannot even read fails verification
  }
  if (!valid) return fail(new errors.JWSSignatureVerificationFailed());
  return { ok: true, header: prepared.header, signedBy: prepared.member.thumbprint };
}
