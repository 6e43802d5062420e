// A DPoP client as an application would write one, with openid-client (RFC 9449 support over
// oauth4webapi): a key pair, a DPoP-bound access token from the dev IdP's client-credentials grant,
// and calls through Envoy that openid-client signs a fresh proof for (retrying once with the server's
// nonce when asked). proof() makes proofs by hand with the same key, for the ones a library would
// never send (another method or URI, a stale iat, a wrong ath).
import { randomUUID } from "node:crypto";
import { request } from "node:https";
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK } from "jose";
import * as client from "openid-client";
import type { DevIdp } from "../../src/demo/startDevIdp.ts";
import { tokenHash } from "../../src/oidc/checkDpopProof.ts";

export interface DpopClient {
  /** The thumbprint of the client's public key: the bound token's `cnf.jkt`. */
  readonly jkt: string;
  /** A DPoP-bound access token from the IdP (`token_type` DPoP). */
  token(): Promise<{ readonly accessToken: string; readonly tokenType: string }>;
  /** GET (or `method`) `path` on the Envoy origin through openid-client's fetchProtectedResource. */
  fetch(accessToken: string, path: string, method?: string): Promise<Response>;
  /** A proof signed with the client's key (or `key`), for `path` on the Envoy origin unless claims say otherwise. */
  proof(
    accessToken: string,
    path: string,
    claims?: Record<string, unknown>,
    key?: client.CryptoKeyPair,
  ): Promise<string>;
}

/** `origin`: Envoy's https origin (`https://localhost:<port>`); `ca`: its certificate. */
export async function startDpopClient(idp: DevIdp, origin: string, ca: string): Promise<DpopClient> {
  const config = await client.discovery(new URL(idp.issuer), idp.cliClient.id, idp.cliClient.secret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  // The IdP is plain http on loopback; Envoy's https listener has the stack's own certificate.
  config[client.customFetch] = (url, options) =>
    url.startsWith("https:") ? fetchTrusting(ca, url, options) : fetch(url, options as RequestInit);
  const keyPair = await client.randomDPoPKeyPair("ES256");
  const jwk = await exportJWK(keyPair.publicKey);
  const handle = client.getDPoPHandle(config, keyPair);
  return {
    jkt: await calculateJwkThumbprint(jwk),
    async token() {
      const tokens = await client.clientCredentialsGrant(
        config,
        { scope: "api.read", resource: idp.resource },
        { DPoP: handle },
      );
      return { accessToken: tokens.access_token, tokenType: tokens.token_type };
    },
    fetch: (accessToken, path, method = "GET") =>
      client.fetchProtectedResource(config, accessToken, new URL(path, origin), method, undefined, undefined, {
        DPoP: handle,
      }),
    async proof(accessToken, path, claims = {}, key = keyPair) {
      return new SignJWT({
        jti: randomUUID(),
        htm: "GET",
        htu: new URL(path, origin).href.replace(/[?#].*$/, ""),
        iat: Math.floor(Date.now() / 1000),
        ath: tokenHash(accessToken),
        ...claims,
      })
        .setProtectedHeader({ typ: "dpop+jwt", alg: "ES256", jwk: (await exportJWK(key.publicKey)) as JWK })
        .sign(key.privateKey);
    },
  };
}

/** A fetch over node:https that trusts only `ca` and connects to 127.0.0.1 (Envoy's listener) for localhost. */
function fetchTrusting(ca: string, url: string, options: client.CustomFetchOptions): Promise<Response> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname === "localhost" ? "127.0.0.1" : target.hostname,
        servername: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method,
        ca,
        agent: false,
        headers: { ...options.headers, host: target.host },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value])
              headers.append(name, one);
          const status = res.statusCode ?? 0;
          resolve(new Response(status === 204 ? null : Buffer.concat(chunks), { status, headers }));
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${target.pathname} timed out`)));
    req.on("error", reject);
    req.end(typeof options.body === "string" ? options.body : undefined);
  });
}
