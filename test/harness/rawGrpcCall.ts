// One gRPC call written by hand over node:http2, so tests can send what no gRPC client would
// (a wrong method or content type, a bad prefix, a compressed flag, two messages) and read exactly
// what came back: the response headers, the body bytes and the trailers.
import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";

export interface RawGrpcAnswer {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: IncomingHttpHeaders;
  /** grpc-status from the trailers, or from the headers of a trailers-only answer. */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string | undefined;
}

export interface RawGrpcRequest {
  readonly path: string;
  /** Sent after the pseudo-headers; content-type application/grpc and te trailers unless overridden. */
  readonly headers?: OutgoingHttpHeaders;
  /** Written as DATA frames, one per element, the last with END_STREAM. */
  readonly data?: readonly Buffer[];
}

/** A 5-byte prefix (flag, big-endian length) and the message. */
export function grpcFrame(message: Uint8Array, flag = 0): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed[0] = flag;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

export function openRawSession(port: number): ClientHttp2Session {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  return session;
}

export function rawGrpcCall(session: ClientHttp2Session, request: RawGrpcRequest): Promise<RawGrpcAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": request.path,
      "content-type": "application/grpc",
      te: "trailers",
      ...request.headers,
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => {
      const status = trailers["grpc-status"] ?? headers["grpc-status"];
      const message = trailers["grpc-message"] ?? headers["grpc-message"];
      resolve({
        headers,
        body: Buffer.concat(chunks),
        trailers,
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: message === undefined ? undefined : String(message),
      });
    });
    const data = request.data ?? [];
    data.forEach((chunk, i) => (i === data.length - 1 ? stream.end(chunk) : stream.write(chunk)));
    if (data.length === 0) stream.end();
  });
}
