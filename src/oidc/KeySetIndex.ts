// A provider's current key set, ready to verify with: each usable member's KeyObject (imported once
// when the set is adopted, never per token) and its RFC 7638 thumbprint. select() picks the member a
// token's header names by jose's rules for a JWK Set (kid, the alg's key type and curve, a member's
// own alg, use and key_ops), so the key that verified a token is known and its cached verifications
// can be ended when a refresh drops it (the way an IdP revokes a compromised key).
import { hash, type KeyObject } from "node:crypto";
import type { JwsAlgorithm } from "./jwsAlgorithm.ts";
import type { UsableKey } from "./readKeySet.ts";

export interface KeySetMember {
  readonly thumbprint: string;
  readonly key: KeyObject;
  /** node:crypto's view of the key, checked against the algorithm before it is used. */
  readonly keyType: string | undefined;
  readonly namedCurve: string | undefined;
  readonly modulusLength: number | undefined;
}

/** The one member a header names, or why there is none to verify with. */
export type KeySelection = KeySetMember | "none" | "several";

export interface KeySetIndex {
  readonly thumbprints: ReadonlySet<string>;
  /** The member that verifies a token signed with `alg` (its entry `algorithm`) under this `kid`. */
  select(alg: string, algorithm: JwsAlgorithm, kid: unknown): KeySelection;
}

interface Entry extends KeySetMember {
  readonly kid: unknown;
  readonly kty: unknown;
  readonly crv: unknown;
  readonly alg: unknown;
  /** `ext`, `key_ops` and `use` allow verifying (jose's isUsableJWK). */
  readonly verifies: boolean;
}

/** RFC 7638: SHA-256 over the required members, in lexicographic order, without whitespace. */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const required: Record<string, readonly string[]> = {
    RSA: ["e", "kty", "n"],
    EC: ["crv", "kty", "x", "y"],
    OKP: ["crv", "kty", "x"],
  };
  const names = required[jwk["kty"] as string] ?? ["kty"];
  const canonical = `{${names.map((name) => `${JSON.stringify(name)}:${JSON.stringify(jwk[name])}`).join(",")}}`;
  return hash("sha256", canonical, "base64url");
}

function verifies(jwk: Readonly<Record<string, unknown>>): boolean {
  const { ext, key_ops: keyOps, use } = jwk;
  const opsAllow =
    keyOps === undefined ||
    (Array.isArray(keyOps) &&
      keyOps.every((op, at) => typeof op === "string" && keyOps.indexOf(op) === at) &&
      keyOps.includes("verify"));
  return (ext === undefined || typeof ext === "boolean") && opsAllow && (use === undefined || use === "sig");
}

export function createKeySetIndex(keys: readonly UsableKey[]): KeySetIndex {
  const entries: Entry[] = keys.map(({ jwk, key }) => ({
    thumbprint: jwkThumbprint(jwk),
    key,
    keyType: key.asymmetricKeyType,
    namedCurve: key.asymmetricKeyDetails?.namedCurve,
    modulusLength: key.asymmetricKeyDetails?.modulusLength,
    kid: jwk["kid"],
    kty: jwk["kty"],
    crv: jwk["crv"],
    alg: jwk["alg"],
    verifies: verifies(jwk),
  }));
  return {
    thumbprints: new Set(entries.map((entry) => entry.thumbprint)),
    select(alg, algorithm, kid) {
      // A loop, not filter(): this runs for every token not yet in the cache.
      let found: Entry | undefined;
      for (const entry of entries) {
        if (
          entry.verifies &&
          entry.kty === algorithm.kty &&
          (kid === undefined || (typeof kid === "string" && kid === entry.kid)) &&
          (entry.alg === undefined || entry.alg === alg) &&
          (algorithm.crv === undefined || entry.crv === algorithm.crv)
        ) {
          if (found !== undefined) return "several";
          found = entry;
        }
      }
      return found ?? "none";
    },
  };
}
