// One GET to an IdP over node:http / node:https instead of fetch, so that discovery and key-set
// loads do not load undici (about 14 MB of RSS) into a process that never needs it. The caller
// (boundedFetch) brings the bounds and the log-safe messages; this only moves the bytes.
import type { IncomingMessage } from "node:http";

// node:http by getBuiltinModule, not an ESM import: importing it builds a namespace of all its
// exports, whose lazy WebSocket getter loads undici (Node's fetch, ~14 MB of RSS) into every process.
const { request: httpRequest } = process.getBuiltinModule("node:http");
const { request: httpsRequest } = process.getBuiltinModule("node:https");

export type NodeHttpAnswer =
  | { readonly kind: "body"; readonly status: number; readonly body: Buffer }
  | { readonly kind: "status"; readonly status: number }
  | { readonly kind: "too-large" };

/**
 * GET `url` with `headers`; never follows a redirect (a 3xx is answered as its status, as fetch's
 * redirect: "manual" did). The signal bounds the whole exchange, connect to last byte: its abort
 * destroys the request and rejects. TLS is verified with Node's trust store (and
 * NODE_EXTRA_CA_CERTS), as fetch did. Rejects with the socket's own error (its `code`) otherwise.
 */
export function requestOverNodeHttp(
  url: URL,
  init: { readonly signal: AbortSignal; readonly headers: Readonly<Record<string, string>>; readonly maxBytes: number },
): Promise<NodeHttpAnswer> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<NodeHttpAnswer>((resolve, reject) => {
    if (init.signal.aborted) {
      reject(init.signal.reason);
      return;
    }
    const req = request(url, { method: "GET", headers: init.headers });
    const onAbort = (): void => {
      req.destroy(init.signal.reason instanceof Error ? init.signal.reason : new Error("aborted"));
    };
    init.signal.addEventListener("abort", onAbort, { once: true });
    const settle = (): void => init.signal.removeEventListener("abort", onAbort);
    req.once("error", (err) => {
      settle();
      reject(err);
    });
    req.once("response", (response) => {
      readAnswer(response, init.maxBytes).then(
        (answer) => {
          settle();
          resolve(answer);
        },
        (err: unknown) => {
          settle();
          req.destroy();
          reject(err);
        },
      );
    });
    req.end();
  });
}

/** A 200's body up to maxBytes (declared or counted); any other status without reading its body. */
async function readAnswer(response: IncomingMessage, maxBytes: number): Promise<NodeHttpAnswer> {
  const status = response.statusCode ?? 0;
  if (status !== 200) {
    response.destroy();
    return { kind: "status", status };
  }
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    return { kind: "too-large" };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      response.destroy();
      return { kind: "too-large" };
    }
    chunks.push(chunk);
  }
  // A connection closed before the declared length ends the iteration with an error above (Node
  // emits 'aborted' and an ECONNRESET); complete() guards against a body cut short without one.
  if (!response.complete) throw Object.assign(new Error("response body cut short"), { code: "ECONNRESET" });
  return { kind: "body", status, body: Buffer.concat(chunks) };
}
