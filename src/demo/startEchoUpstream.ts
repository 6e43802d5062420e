// The sample upstream for the demo and e2e tests: answers every request with JSON of what it
// received (method, path, headers), so that anyone can see which identity headers arrived; a
// browser (Accept: text/html) gets the same as a small page with the identity and a sign-out button.
// Keeps the last requests in memory (bounded) so tests can assert what did or did not get through.
// With `assertion` it verifies Portcullis's signed identity assertion the way an upstream would
// (jose: the remote JWKS, issuer and audience) and shows the outcome beside the headers.
// The public surface for the demo's small HTTP servers: tests may listen/close their own the same way.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { closeServer, listenServer } from "./listenServer.ts";

export { closeServer, listenServer } from "./listenServer.ts";

export interface EchoedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** With `assertion`: whether the request's signed identity assertion verified, and its claims or why not. */
  readonly assertion?: AssertionCheck;
}

export type AssertionCheck =
  { readonly verified: true; readonly claims: JWTPayload } | { readonly verified: false; readonly reason: string };

export interface EchoAssertionOptions {
  /** Portcullis's `identity.assertion.issuer`. */
  readonly issuer: string;
  /** This upstream's audience (the route's `assertion.audience`). */
  readonly audience: string;
  /** Where Portcullis publishes its keys, asked on the first request (the auth listener may bind after the upstream). */
  readonly jwksUrl: () => string;
  /** Default `x-portcullis-assertion`. */
  readonly header?: string;
}

export interface EchoUpstream {
  readonly port: number;
  /** Requests received, oldest first (the last 200). */
  requests(): readonly EchoedRequest[];
  close(): Promise<void>;
}

const KEPT_REQUESTS = 200;

export async function startEchoUpstream(
  options: { port?: number; assertion?: EchoAssertionOptions } = {},
): Promise<EchoUpstream> {
  const seen: EchoedRequest[] = [];
  const verify = options.assertion === undefined ? null : assertionVerifier(options.assertion);
  const server = createServer(async (req, res) => {
    const assertion = verify === null ? undefined : await verify(req.headers);
    const echoed: EchoedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      ...(assertion === undefined ? {} : { assertion }),
    };
    seen.push(echoed);
    if (seen.length > KEPT_REQUESTS) seen.shift();
    // Drain the body without keeping it: the echo is about headers, and bodies can be large.
    req.resume();
    req.on("end", () => {
      if ((req.headers.accept ?? "").includes("text/html")) {
        res
          .writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
          .end(renderPage(echoed));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(echoed, null, 2) + "\n");
    });
  });
  await listenServer(server, options.port ?? 0);
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => [...seen],
    close: () => closeServer(server),
  };
}

/**
 * What an upstream does with the assertion, in a few lines: the keys from Portcullis's JWKS (fetched
 * once, refetched for an unknown kid), then jwtVerify with the issuer and this upstream's audience.
 */
function assertionVerifier(
  options: EchoAssertionOptions,
): (headers: EchoedRequest["headers"]) => Promise<AssertionCheck> {
  let keys: ReturnType<typeof createRemoteJWKSet> | null = null;
  const header = options.header ?? "x-portcullis-assertion";
  return async (headers) => {
    const token = headers[header];
    if (typeof token !== "string") return { verified: false, reason: "no assertion" };
    keys ??= createRemoteJWKSet(new URL(options.jwksUrl()));
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ["ES256", "EdDSA"],
      });
      return { verified: true, claims: payload };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return { verified: false, reason: typeof code === "string" ? code : "unverifiable" };
    }
  };
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderPage(echoed: EchoedRequest): string {
  const header = (name: string): string => {
    const value = echoed.headers[name];
    return Array.isArray(value) ? value.join(", ") : (value ?? "");
  };
  let context = "";
  try {
    const raw = header("x-user-context");
    context = raw === "" ? "" : JSON.stringify(JSON.parse(Buffer.from(raw, "base64").toString("utf8")), null, 2);
  } catch {
    context = "(not valid base64 JSON)";
  }
  const rows = ["x-user-sub", "x-user-email", "x-user-roles", "x-client-id"]
    .map((name) => `<tr><th>${name}</th><td><code>${escapeHtml(header(name)) || "<em>absent</em>"}</code></td></tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portcullis demo upstream</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:3rem auto;padding:0 1rem}th{text-align:left;padding-right:1rem}pre{background:#f4f4f4;padding:1rem}</style>
</head><body>
<h1>Sample upstream</h1>
<p>Envoy let this request through after Portcullis checked it; these are the identity headers it added.</p>
<p>${escapeHtml(echoed.method)} <code id="path">${escapeHtml(echoed.path)}</code></p>
<table id="identity">
${rows}
</table>
<h2>x-user-context</h2>
<pre id="context">${escapeHtml(context)}</pre>
${
  echoed.assertion === undefined
    ? ""
    : `<h2>Signed identity assertion</h2>
<p id="assertion">${
        echoed.assertion.verified
          ? `verified: <code>${escapeHtml(JSON.stringify(echoed.assertion.claims))}</code>`
          : `not verified: ${escapeHtml(echoed.assertion.reason)}`
      }</p>`
}
<p><a href="/">Home</a> · <a href="/secure/">Step-up page</a> · <a href="/admin/">Admin page</a></p>
<form method="post" action="/oauth2/sign_out"><button id="sign-out" type="submit">Sign out</button></form>
</body></html>
`;
}
