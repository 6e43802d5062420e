// One RS256 key pair, its public JWKS and one long-lived access token signed with it: the same
// credential for jwt_authn (inline JWKS) and Portcullis (JWKS over loopback HTTP).
import { KeyObject } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

export interface BenchIdentity {
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: { readonly keys: readonly JWK[] };
  readonly token: string;
  /** The signing key and its kid, for streams of distinct tokens (bench/mintBenchTokens.ts). */
  readonly privateKey: KeyObject;
  readonly kid: string;
}

export async function createBenchIdentity(issuer: string, audience: string): Promise<BenchIdentity> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
  const kid = "bench-rs256";
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ email: "bench@example.com", scope: "openid bench", roles: ["bench"] })
    .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject("bench-user")
    .setIssuedAt(now)
    .setExpirationTime(now + 24 * 3600)
    .sign(privateKey);
  return { issuer, audience, jwks: { keys: [publicJwk] }, token, privateKey: KeyObject.from(privateKey), kid };
}
