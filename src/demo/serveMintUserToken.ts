// The dev IdP's loopback-only endpoint that mints a user's access token without a browser
// (`demo token --user`): POST from 127.0.0.1/::1 with `Authorization: Bearer <mintSecret>` and a
// JSON body {user, scopes?, certificate?}. Anything else is 404 (no secret, wrong method, remote) or
// 401. `certificate` (PEM) binds the token to it (cnf x5t#S256, `demo token --bound-to-cert`).

import { timingSafeEqual, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { readRequestBody } from "./readRequestBody.ts";

/** Where the mint endpoint is served on the IdP; `demo token --user` posts there. */
export const MINT_USER_TOKEN_PATH = "/demo/user-token";

export type MintUserToken = (
  user: string,
  scopes?: readonly string[],
  boundCertificate?: X509Certificate,
) => Promise<string>;

export async function serveMintUserToken(
  req: IncomingMessage,
  res: ServerResponse,
  mintSecret: string | undefined,
  mint: MintUserToken,
): Promise<void> {
  const send = (status: number, body: unknown) => {
    res
      .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
      .end(JSON.stringify(body));
  };
  const presented = Buffer.from(req.headers.authorization ?? "");
  const expected = Buffer.from(`Bearer ${mintSecret ?? ""}`);
  if (mintSecret === undefined || req.method !== "POST" || !isLoopback(req.socket.remoteAddress)) {
    send(404, { error: "not_found" });
    return;
  }
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    send(401, { error: "unauthorized" });
    return;
  }
  try {
    const raw = await readRequestBody(req, 16_384);
    const { user, scopes, certificate } = JSON.parse(raw) as {
      user?: unknown;
      scopes?: unknown;
      certificate?: unknown;
    };
    if (typeof user !== "string") throw new Error("body needs a string `user`");
    const scopeList =
      Array.isArray(scopes) && scopes.every((s) => typeof s === "string") ? (scopes as string[]) : undefined;
    send(200, { access_token: await mint(user, scopeList, boundCertificateOf(certificate)) });
  } catch (error) {
    send(400, { error: "invalid_request", error_description: (error as Error).message });
  }
}

function boundCertificateOf(pem: unknown): X509Certificate | undefined {
  if (pem === undefined) return undefined;
  if (typeof pem !== "string") throw new Error("`certificate` must be a PEM string");
  try {
    return new X509Certificate(pem);
  } catch {
    throw new Error("`certificate` is not a PEM certificate");
  }
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}
