// Tokens the dev IdP of a replica stack would issue, signed with its own key the test holds: access
// tokens with the `sub`, `sid` and `iat` a test needs, and back-channel logout tokens posted to one
// replica's auth listener as the IdP posts them; plus the replicas' /metrics.
import { randomBytes } from "node:crypto";
import { importJWK, SignJWT, type JWTPayload } from "jose";
import type { SigningJwk } from "../../src/demo/startDevIdp.ts";
import { BACKCHANNEL_LOGOUT_EVENT } from "../../src/oidc/verifyLogoutToken.ts";
import { readMetric } from "./readMetric.ts";
import type { ReplicaStack } from "./startReplicaStack.ts";
import { TEST_AUDIENCE } from "./startStack.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface ReplicaIdpTokens {
  /** An access token for the API, issued at `iat` (default a minute ago), living ten minutes. */
  accessToken(claims: { sub: string; sid?: string; iat?: number; roles?: string[] }): Promise<string>;
  /** Posts the IdP's logout token for a sid or a sub to one replica's auth listener; the status. */
  logout(index: number, by: { sid?: string; sub?: string }): Promise<number>;
  /** One replica's Prometheus exposition. */
  metrics(index: number): Promise<string>;
  /** A metric's value on each replica, in replica order. */
  metricOnEach(name: string, labels: Readonly<Record<string, string>>): Promise<number[]>;
}

export function replicaIdpTokens(stack: ReplicaStack, key: SigningJwk): ReplicaIdpTokens {
  const privateKey = importJWK(key, "RS256");
  const idp = stack.idp();
  const sign = async (claims: JWTPayload, typ: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: key.kid, typ })
      .setIssuer(idp.issuer)
      .sign(await privateKey);
  const metrics = async (index: number) => {
    const res = await fetch(`http://127.0.0.1:${stack.replicas[index]!.ports.admin}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    return res.text();
  };
  return {
    accessToken(claims) {
      const iat = claims.iat ?? nowSeconds() - 60;
      return sign({ aud: TEST_AUDIENCE, scope: "openid", ...claims, iat, exp: iat + 600 }, "at+jwt");
    },
    async logout(index, by) {
      const now = nowSeconds();
      const token = await sign(
        {
          aud: idp.webClient.id,
          iat: now,
          exp: now + 120,
          jti: randomBytes(12).toString("hex"),
          events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
          ...by,
        },
        "logout+jwt",
      );
      const res = await fetch(`http://127.0.0.1:${stack.replicas[index]!.ports.auth}/oauth2/backchannel_logout`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ logout_token: token }).toString(),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      return res.status;
    },
    metrics,
    metricOnEach: (name, labels) =>
      Promise.all(stack.replicas.map(async (r) => readMetric(await metrics(r.index), name, labels))),
  };
}
