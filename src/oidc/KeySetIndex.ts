// Which key of a provider's current key set verified a token, by RFC 7638 thumbprint, so a cached
// verification can be ended when a refresh drops that key (the way an IdP revokes a compromised
// key). attribute() repeats jose's key selection on the header (kid, the alg's key type and curve,
// a member's own alg and use); when that does not name exactly one member it answers undefined and
// the verification is not cached.
import { hash } from "node:crypto";

export interface KeySetIndex {
  readonly thumbprints: ReadonlySet<string>;
  /** The thumbprint of the one member a token with this header is verified with, else undefined. */
  attribute(header: { readonly alg?: unknown; readonly kid?: unknown }): string | undefined;
}

interface Member {
  readonly thumbprint: string;
  readonly kid: unknown;
  readonly kty: string;
  readonly crv: unknown;
  readonly alg: unknown;
  readonly use: unknown;
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

function keyTypeOf(alg: string): { kty: string; crv?: readonly string[] } | undefined {
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return { kty: "RSA" };
  if (alg === "ES256") return { kty: "EC", crv: ["P-256"] };
  if (alg === "ES384") return { kty: "EC", crv: ["P-384"] };
  if (alg === "ES512") return { kty: "EC", crv: ["P-521"] };
  if (alg === "EdDSA" || alg === "Ed25519") return { kty: "OKP", crv: ["Ed25519", "Ed448"] };
  return undefined;
}

export function createKeySetIndex(keys: readonly Readonly<Record<string, unknown>>[]): KeySetIndex {
  const members: Member[] = keys.map((jwk) => ({
    thumbprint: jwkThumbprint(jwk),
    kid: jwk["kid"],
    kty: jwk["kty"] as string,
    crv: jwk["crv"],
    alg: jwk["alg"],
    use: jwk["use"],
  }));
  return {
    thumbprints: new Set(members.map((member) => member.thumbprint)),
    attribute(header) {
      if (typeof header.alg !== "string") return undefined;
      const type = keyTypeOf(header.alg);
      if (type === undefined) return undefined;
      const candidates = members.filter(
        (member) =>
          (header.kid === undefined || member.kid === header.kid) &&
          member.kty === type.kty &&
          (type.crv === undefined || type.crv.includes(member.crv as string)) &&
          (member.alg === undefined || member.alg === header.alg) &&
          (member.use === undefined || member.use === "sig"),
      );
      return candidates.length === 1 ? candidates[0]!.thumbprint : undefined;
    },
  };
}
