// Creates an RSA private signing key as a JWK (with kid, alg, use) for the dev IdP.
// Callers keep the private JWK so that tests can rotate keys and forge tokens with the same key.

import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair } from "jose";
import type { JWK } from "jose";

export interface SigningJwk extends JWK {
  kid: string;
  alg: string;
  use: "sig";
}

export async function createSigningJwk(kid: string = randomUUID()): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid, alg: "RS256", use: "sig" };
}
