// Raw HTTP/1.1 over TLS to the Envoy under test: the request-target and the Host header are sent as
// the exact bytes given, which Node's http client refuses for some of the shapes the property tests
// need (raw non-ASCII, `%` not followed by hex, odd authorities). A few keep-alive connections, each
// carrying one request at a time, so thousands of requests take seconds. A connection Envoy closes
// (it does after rejecting a malformed request) is replaced; a request that got no answer byte on a
// connection that died under it is sent once more on a fresh one.

import { connect } from "node:tls";
import type { TLSSocket } from "node:tls";

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawRequest {
  readonly method?: string;
  /** Sent verbatim as the request-target (a JS string is sent as UTF-8). */
  readonly target: string;
  /** Sent verbatim as the Host header value; default `localhost`. */
  readonly host?: string;
  /** Extra headers, sent as given (no CR/LF checks: the caller's values are fixed strings). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RawHttpsPool {
  send(request: RawRequest): Promise<RawResponse>;
  close(): void;
}

export interface RawHttpsPoolOptions {
  readonly port: number;
  /** The stack's certificate (PEM), the only one trusted. */
  readonly ca: string;
  /** Connections kept open at most; default 4. */
  readonly connections?: number;
  readonly timeoutMs?: number;
}

interface Pending {
  readonly head: Buffer;
  readonly isHead: boolean;
  readonly resolve: (response: RawResponse) => void;
  readonly reject: (error: Error) => void;
  retried: boolean;
}

class ParseError extends Error {}

/** Parses one response from the front of `data`; null when more bytes are needed. */
function parseResponse(
  data: Buffer,
  isHead: boolean,
  ended: boolean,
): { response: RawResponse; rest: Buffer; close: boolean } | null {
  const headEnd = data.indexOf("\r\n\r\n");
  if (headEnd === -1) {
    if (ended) throw new ParseError("connection closed inside a response head");
    return null;
  }
  const lines = data.subarray(0, headEnd).toString("latin1").split("\r\n");
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (statusMatch === null) throw new ParseError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0])}`);
  const status = Number(statusMatch[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const close = (headers["connection"] ?? "").toLowerCase().includes("close");
  let offset = headEnd + 4;
  const finish = (body: Buffer, end: number) => ({
    response: { status, headers, body: body.toString("utf8") },
    rest: data.subarray(end),
    close,
  });
  if (isHead || status === 204 || status === 304 || (status >= 100 && status < 200))
    return finish(Buffer.alloc(0), offset);
  if ((headers["transfer-encoding"] ?? "").toLowerCase().includes("chunked")) {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = data.indexOf("\r\n", offset);
      if (lineEnd === -1) break;
      const size = parseInt(data.subarray(offset, lineEnd).toString("latin1"), 16);
      if (!Number.isFinite(size)) throw new ParseError("bad chunk size");
      if (size === 0) {
        const trailerEnd = data.indexOf("\r\n\r\n", lineEnd);
        const plainEnd = data.subarray(lineEnd + 2, lineEnd + 4).toString("latin1") === "\r\n" ? lineEnd + 4 : -1;
        const end = plainEnd !== -1 ? plainEnd : trailerEnd === -1 ? -1 : trailerEnd + 4;
        if (end === -1) break;
        return finish(Buffer.concat(chunks), end);
      }
      if (data.length < lineEnd + 2 + size + 2) break;
      chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
    if (ended) throw new ParseError("connection closed inside a chunked body");
    return null;
  }
  const lengthHeader = headers["content-length"];
  if (lengthHeader !== undefined) {
    const length = Number(lengthHeader);
    if (data.length < offset + length) {
      if (ended) throw new ParseError("connection closed inside a body");
      return null;
    }
    return finish(data.subarray(offset, offset + length), offset + length);
  }
  // No length: the body runs to the end of the connection.
  if (!ended) return null;
  return {
    response: { status, headers, body: data.subarray(offset).toString("utf8") },
    rest: Buffer.alloc(0),
    close: true,
  };
}

export function createRawHttpsPool(options: RawHttpsPoolOptions): RawHttpsPool {
  const maxConnections = options.connections ?? 4;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const queue: Pending[] = [];
  let open = 0;
  let connecting = 0;
  let closed = false;
  const idle: Array<() => void> = [];
  const sockets = new Set<TLSSocket>();

  function runConnection(): void {
    open++;
    connecting++;
    let handshaking = true;
    const socket = connect({
      host: "127.0.0.1",
      port: options.port,
      servername: "localhost",
      ca: options.ca,
      ALPNProtocols: ["http/1.1"],
    });
    sockets.add(socket);
    let buffer: Buffer = Buffer.alloc(0);
    let current: Pending | null = null;
    let timer: NodeJS.Timeout | undefined;
    let dead = false;

    const die = (error: Error | null) => {
      if (dead) return;
      dead = true;
      if (handshaking) {
        handshaking = false;
        connecting--;
        // Cannot even connect: fail what waits instead of reconnecting forever.
        for (const request of queue.splice(0))
          request.reject(error ?? new Error("connection closed during the TLS handshake"));
      }
      clearTimeout(timer);
      sockets.delete(socket);
      socket.destroy();
      open--;
      const request = current;
      current = null;
      if (request !== null) {
        if (error === null) {
          try {
            const parsed = parseResponse(buffer, request.isHead, true);
            if (parsed !== null) {
              request.resolve(parsed.response);
              pump();
              return;
            }
          } catch (parseError) {
            error = parseError as Error;
          }
        }
        if (buffer.length === 0 && !request.retried) {
          // Nothing came back: the connection was already going away. Once more on a new one.
          request.retried = true;
          queue.unshift(request);
        } else {
          request.reject(error ?? new Error("connection closed before a response"));
        }
      }
      pump();
    };

    const next = () => {
      if (closed) return die(null);
      const request = queue.shift();
      if (request === undefined) {
        // Park until pump() hands this connection a request.
        idle.push(() => next());
        return;
      }
      current = request;
      buffer = Buffer.alloc(0);
      timer = setTimeout(() => die(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
      socket.write(request.head);
    };

    socket.once("secureConnect", () => {
      handshaking = false;
      connecting--;
      next();
    });
    socket.on("data", (chunk: Buffer) => {
      if (current === null) return;
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      let parsed;
      try {
        parsed = parseResponse(buffer, current.isHead, false);
      } catch (error) {
        return die(error as Error);
      }
      if (parsed === null) return;
      clearTimeout(timer);
      const request = current;
      current = null;
      request.resolve(parsed.response);
      if (parsed.close) return die(null);
      next();
    });
    socket.on("end", () => die(null));
    socket.on("close", () => die(null));
    socket.on("error", (error) => die(error));
  }

  function pump(): void {
    while (queue.length > 0 && idle.length > 0) (idle.shift() as () => void)();
    // Only as many new connections as requests no connection will pick up, up to the cap.
    while (!closed && queue.length > connecting && open < maxConnections) runConnection();
  }

  return {
    send(request) {
      if (closed) return Promise.reject(new Error("pool closed"));
      const method = request.method ?? "GET";
      const headerLines = Object.entries({ accept: "application/json", ...request.headers })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("");
      const head = Buffer.from(
        `${method} ${request.target} HTTP/1.1\r\nhost: ${request.host ?? "localhost"}\r\n${headerLines}\r\n`,
        "utf8",
      );
      return new Promise<RawResponse>((resolve, reject) => {
        queue.push({ head, isHead: method === "HEAD", resolve, reject, retried: false });
        pump();
      });
    },
    close() {
      closed = true;
      for (const socket of sockets) socket.destroy();
      for (const wake of idle.splice(0)) wake();
      for (const request of queue.splice(0)) request.reject(new Error("pool closed"));
    },
  };
}
