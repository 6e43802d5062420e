// A gRPC call on a node:http2 stream: the stream's events drive the GrpcCall, and the call answers
// through the stream (respond, end, sendTrailers). A unary answer's headers, message and trailers are
// queued in one tick, but node:http2 still sends the trailers in a write of their own one event-loop
// turn after the headers and message (it asks for trailers, 'wantTrailers', only while writing the
// data's end, and sendTrailers submits them from a setImmediate; no public API does better): as with
// grpc-js, a kill in between leaves a started answer. Under load the answers of several calls share each write.
import type { ServerHttp2Stream } from "node:http2";
import { GrpcCall, type GrpcCallOptions, type GrpcCallWire, type GrpcMethod } from "./GrpcCall.ts";
import {
  GrpcCode,
  OK_TRAILERS,
  RESPOND_AND_END,
  RESPOND_WITH_TRAILERS,
  RESPONSE_HEADERS,
  statusTrailers,
  trailersOnly,
} from "./grpcWire.ts";
import { releaseClosedStream } from "./releaseClosedStream.ts";

function sendOkTrailers(this: ServerHttp2Stream): void {
  if (!this.destroyed && !this.closed) this.sendTrailers(OK_TRAILERS);
}

class Http2StreamWire implements GrpcCallWire {
  readonly #stream: ServerHttp2Stream;
  #headersSent = false;
  #trailers = OK_TRAILERS;

  constructor(stream: ServerHttp2Stream) {
    this.#stream = stream;
  }

  /**
   * Destroyed, or closed (an RST, or the session gone) before node destroys it: respond() and
   * sendTrailers() throw on a closed stream, and a peer that drops its connection mid-message ends
   * each stream's reading before it is destroyed.
   */
  gone(): boolean {
    return this.#stream.destroyed || this.#stream.closed;
  }

  answer(framed: Buffer): void {
    this.#headersSent = true;
    // 'wantTrailers' comes once per stream. A unary answer always ends OK (its headers leave with its
    // message, after which nothing can fail it), so it takes one shared listener instead of a closure.
    this.#stream.on("wantTrailers", sendOkTrailers);
    this.#stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
    this.#stream.end(framed);
  }

  write(framed: Buffer): boolean {
    const stream = this.#stream;
    if (!this.#headersSent) {
      this.#headersSent = true;
      stream.on("wantTrailers", () => stream.destroyed || stream.closed || stream.sendTrailers(this.#trailers));
      stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
    }
    return stream.write(framed);
  }

  finish(code: number, message: string): void {
    if (this.#headersSent) {
      this.#trailers = code === GrpcCode.OK ? OK_TRAILERS : statusTrailers(code, message);
      this.#stream.end();
      return;
    }
    if (this.#stream.headersSent) return;
    this.#stream.respond(trailersOnly(code, message), RESPOND_AND_END);
  }

  discard(): void {
    this.#stream.resume();
  }
}

/** Serves one call on a node:http2 stream whose headers routed it to `method`. */
export function serveHttp2Call(stream: ServerHttp2Stream, method: GrpcMethod, options: GrpcCallOptions): void {
  const call = new GrpcCall(new Http2StreamWire(stream), method, options);
  stream.on("data", (chunk: Buffer) => call.receive(chunk));
  stream.on("end", () => call.receiveEnd());
  stream.on("close", () => {
    // Once closed, node:http2 keeps the stream reachable for V8's young collections until a full one;
    // its listeners must not keep this call (request, handler closures) reachable with it.
    releaseClosedStream(stream);
    call.closed();
  });
}
