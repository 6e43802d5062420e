// The sample upstream for the demo and e2e tests: answers every request with JSON of what it
// received (method, path, headers), so that anyone can see which identity headers arrived; a
// browser (Accept: text/html) gets the same as a small page with the identity and a sign-out button.
// Keeps the last requests in memory (bounded) so tests can assert what did or did not get through.
// The public surface for the demo's small HTTP servers: tests may listen/close their own the same way.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer, listenServer } from "./listenServer.ts";

export { closeServer, listenServer } from "./listenServer.ts";

export interface EchoedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface EchoUpstream {
  readonly port: number;
  /** Requests received, oldest first (the last 200). */
  requests(): readonly EchoedRequest[];
  close(): Promise<void>;
}

const KEPT_REQUESTS = 200;

export async function startEchoUpstream(options: { port?: number } = {}): Promise<EchoUpstream> {
  const seen: EchoedRequest[] = [];
  const server = createServer((req, res) => {
    const echoed: EchoedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers };
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
<p><a href="/">Home</a> · <a href="/secure/">Step-up page</a> · <a href="/admin/">Admin page</a></p>
<form method="post" action="/oauth2/sign_out"><button id="sign-out" type="submit">Sign out</button></form>
</body></html>
`;
}
