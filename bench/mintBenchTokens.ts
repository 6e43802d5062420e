// Streams of distinct bearer tokens for the first-seen and memory phases: valid RS256 tokens signed
// with the bench key (each a different subject and jti, so no cache can answer for another), and
// invalid ones of the same shape whose signature is random bytes (verified, then refused).
// Written one per line to a file, so a load generator reads them without a huge argv.
import { randomBytes, sign } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { BenchIdentity } from "./createBenchIdentity.ts";

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

export function mintBenchTokens(
  identity: BenchIdentity,
  count: number,
  options: { readonly label: string; readonly valid: boolean },
): string[] {
  const header = b64url({ alg: "RS256", kid: identity.kid, typ: "JWT" });
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const payload = b64url({
      iss: identity.issuer,
      aud: identity.audience,
      sub: `bench-${options.label}-${i}`,
      jti: randomBytes(8).toString("hex"),
      email: `bench-${i}@example.com`,
      scope: "openid bench",
      roles: ["bench"],
      iat: now,
      exp: now + 24 * 3600,
    });
    const signingInput = `${header}.${payload}`;
    const signature = options.valid ? sign("sha256", Buffer.from(signingInput), identity.privateKey) : randomBytes(256); // an RS256 signature's length, so only the signature check refuses it
    tokens.push(`${signingInput}.${signature.toString("base64url")}`);
  }
  return tokens;
}

export function writeTokenFile(path: string, tokens: readonly string[]): string {
  writeFileSync(path, `${tokens.join("\n")}\n`);
  return path;
}
