// How Redis keys and revocation entries name a (provider, sub/sid) or (issuer, jti) pair: a SHA-256
// of both, so no identifier is stored in clear and no separator in a value can forge another pair.
import { createHash } from "node:crypto";

export function digestPair(scope: string, value: string): string {
  return createHash("sha256").update(`${scope}\u0000${value}`).digest("base64url");
}
