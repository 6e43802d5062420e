// One HTTPS request to the Envoy under test, trusting only the stack's own certificate.
// Sends exactly the headers given (no fetch-added ones), so tests control Host and header case.

import { request } from "node:https";
import { checkServerIdentity } from "node:tls";

export interface HttpsResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

export interface HttpsRequestOptions {
  readonly port: number;
  readonly path: string;
  readonly ca: string;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is; set content-type in headers. */
  readonly body?: string;
  readonly timeoutMs?: number;
  /** A client certificate and its key (PEM) for an mTLS listener. */
  readonly clientCertificate?: { readonly cert: string; readonly key: string };
  /** The client's own address (e.g. 127.0.0.2), as Envoy then reports it for the downstream peer. */
  readonly localAddress?: string;
  /** The TLS server name (SNI) the client sends; default localhost. The certificate is checked for localhost either way. */
  readonly servername?: string;
}

export function httpsRequest(options: HttpsRequestOptions): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        servername: options.servername ?? "localhost",
        checkServerIdentity: (_host, cert) => checkServerIdentity("localhost", cert),
        port: options.port,
        path: options.path,
        method: options.method ?? "GET",
        ca: options.ca,
        ...(options.clientCertificate !== undefined
          ? { cert: options.clientCertificate.cert, key: options.clientCertificate.key }
          : {}),
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
        agent: false,
        headers: { host: "localhost", accept: "application/json", ...options.headers },
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${options.path} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
