// The claims of an access token shaped like a real IdP's (about 800 bytes once signed), distinct by
// `serial` in sub, email, sid and jti: the first-seen benches (firstSeenToken, firstSeenSteps,
// profileFirstSeen) mint their token streams from it, so their figures are of the same token.

export function realisticAccessTokenClaims(issuer: string, serial: number, now: number): Record<string, unknown> {
  return {
    iss: issuer,
    aud: ["bench-api", "account"],
    sub: `f3b9c2d4-7e51-4c0a-9d2e-${String(serial).padStart(12, "0")}`,
    azp: "bench-web",
    client_id: "bench-web",
    scope: "openid profile email bench.read bench.write",
    email: `user${serial}@example.com`,
    email_verified: true,
    name: "Bench User",
    roles: ["bench", "reader", "writer"],
    realm_access: { roles: ["offline_access", "uma_authorization", "default-roles-bench"] },
    sid: `3c5e${serial.toString(16).padStart(8, "0")}-aaaa-bbbb-cccc-000000000000`,
    jti: `jti-${serial}-${now}`,
    iat: now,
    nbf: now,
    exp: now + 24 * 3600,
  };
}
