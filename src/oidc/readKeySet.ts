// Reads a provider's JWK Set and keeps only the members that can verify a signature, so one bad
// member neither makes the whole set unusable nor lets a token that names it turn into a fault
// (503): a token naming a skipped member's kid finds no key (401 key_not_found). Skipped: non-objects,
// keys of a type we never verify with (`oct`), keys carrying private material, keys Node cannot
// import, RSA keys under 2048 bits. Reasons are log-safe: they name the member's position and kid,
// never key material. Each kept member comes with its KeyObject, imported here once per fetched set.
import { createPublicKey, type JsonWebKey as NodeJwk, type KeyObject } from "node:crypto";

export interface SkippedKey {
  readonly index: number;
  /** The member's kid when it has a short printable one. */
  readonly kid?: string;
  readonly reason: string;
}

export interface UsableKey {
  /** The member as the IdP wrote it. */
  readonly jwk: Readonly<Record<string, unknown>>;
  /** Its public key, imported once: bearer tokens are verified with it. */
  readonly key: KeyObject;
}

export interface ReadKeySet {
  /** The usable members, in the set's order. */
  readonly keys: readonly UsableKey[];
  readonly skipped: readonly SkippedKey[];
}

const VERIFYING_KTY = new Set(["RSA", "EC", "OKP"]);
/** Private members of RSA, EC and OKP keys (RFC 7518 §6.2.2, §6.3.2; RFC 8037). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"];
const MIN_RSA_BITS = 2048;

function printableKid(member: Record<string, unknown>): string | undefined {
  const kid = member["kid"];
  return typeof kid === "string" && /^[\x21-\x7e]{1,64}$/.test(kid) ? kid : undefined;
}

/** The member's public key, or why it cannot verify a signature. */
function importMember(member: unknown): KeyObject | string {
  if (typeof member !== "object" || member === null || Array.isArray(member)) return "not a JSON object";
  const jwk = member as Record<string, unknown>;
  const kty = jwk["kty"];
  if (typeof kty !== "string") return "no kty";
  if (!VERIFYING_KTY.has(kty)) return `kty ${JSON.stringify(kty.slice(0, 16))} cannot verify an asymmetric signature`;
  if (PRIVATE_MEMBERS.some((name) => Object.hasOwn(jwk, name))) return "carries private key material";
  let key;
  try {
    key = createPublicKey({ key: jwk as NodeJwk, format: "jwk" });
  } catch {
    return "is not a valid public key";
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (kty === "RSA" && (bits === undefined || bits < MIN_RSA_BITS))
    return `RSA modulus shorter than ${MIN_RSA_BITS} bits`;
  return key;
}

/** `members` is the set's `keys` array (already checked to be an array). */
export function readKeySet(members: readonly unknown[]): ReadKeySet {
  const keys: UsableKey[] = [];
  const skipped: SkippedKey[] = [];
  members.forEach((member, index) => {
    const imported = importMember(member);
    if (typeof imported !== "string") {
      keys.push({ jwk: member as Record<string, unknown>, key: imported });
      return;
    }
    const kid =
      typeof member === "object" && member !== null ? printableKid(member as Record<string, unknown>) : undefined;
    skipped.push(kid === undefined ? { index, reason: imported } : { index, kid, reason: imported });
  });
  return { keys, skipped };
}
