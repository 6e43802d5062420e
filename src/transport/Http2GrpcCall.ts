// One gRPC call on a node:http2 stream, unary or server-streaming: reads the one length-prefixed
// request message (refusing compressed, oversize, missing, truncated or repeated ones), keeps the
// grpc-timeout deadline, and answers. It is also the `call` the grpc-js-shaped handlers are given
// (request, cancelled, write, end, on), so createExtAuthzHandlers and createHealthHandlers serve here
// unchanged. A unary answer's headers, message and trailers are queued in one tick, but node:http2
// still sends the trailers in a write of their own one event-loop turn after the headers and message
// (it asks for trailers, 'wantTrailers', only while writing the data's end, and sendTrailers submits
// them from a setImmediate; no public API does better): as with grpc-js, a kill in between leaves a
// started answer. Under load the answers of several calls share each write.
import type { ServerHttp2Stream } from "node:http2";
import type { DeadlineSweeper } from "./DeadlineSweeper.ts";
import { releaseClosedStream } from "./releaseClosedStream.ts";
import { CALL_BYTES, type BudgetHolder, type RequestByteBudget } from "./RequestByteBudget.ts";
import {
  frameMessage,
  GrpcCode,
  OK_TRAILERS,
  RESPOND_AND_END,
  RESPOND_WITH_TRAILERS,
  RESPONSE_HEADERS,
  statusTrailers,
  trailersOnly,
} from "./grpcWire.ts";

/** A method as the server routes it: the grpc-js definition's (de)serializers and the implementation. */
export interface GrpcMethod {
  readonly responseStream: boolean;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: any) => Buffer;
  readonly handler: (call: any, callback?: any) => void;
}

/** What a handler's callback may be given as an error (grpc-js's ServerErrorResponse shape). */
interface HandlerError {
  code?: number;
  details?: string;
  message?: string;
}

type CallEvent = "cancelled" | "close";

function sendOkTrailers(this: ServerHttp2Stream): void {
  if (!this.destroyed && !this.closed) this.sendTrailers(OK_TRAILERS);
}

export class Http2GrpcCall implements BudgetHolder {
  /** The decoded request message, set before the handler runs. */
  request: unknown = undefined;
  /** True once the client went away or the deadline passed; the answer is then dropped. */
  cancelled = false;
  readonly #stream: ServerHttp2Stream;
  readonly #method: GrpcMethod;
  readonly #path: string;
  readonly #encoding: string | undefined;
  readonly #maxBytes: number;
  /** The request's bytes so far; an array only once a second chunk arrives (most requests come in one). */
  #chunks: Buffer | Buffer[] | null = null;
  #received = 0;
  /** The message length from its prefix, once 5 bytes are in; -1 before. */
  #length = -1;
  #done = false;
  #headersSent = false;
  #trailers = OK_TRAILERS;
  /** performance.now() time the grpc-timeout passes; Infinity without one. */
  deadlineAt = Infinity;
  readonly #deadlines: DeadlineSweeper;
  #listeners: Array<[CallEvent, () => void]> | undefined;
  /** The request bytes this call holds against the server's budget, given back when it finishes. */
  heldBytes = 0;
  readonly #budget: RequestByteBudget;

  constructor(
    stream: ServerHttp2Stream,
    method: GrpcMethod,
    options: {
      path: string;
      encoding: string | undefined;
      timeoutMs: number | undefined;
      maxBytes: number;
      deadlines: DeadlineSweeper;
      budget: RequestByteBudget;
    },
  ) {
    this.#stream = stream;
    this.#method = method;
    this.#path = options.path;
    this.#encoding = options.encoding;
    this.#maxBytes = options.maxBytes;
    this.#budget = options.budget;
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.on("end", () => this.#onEnd());
    stream.on("close", () => this.#onClose());
    this.#deadlines = options.deadlines;
    if (options.timeoutMs !== undefined) {
      this.deadlineAt = performance.now() + options.timeoutMs;
      this.#deadlines.add(this);
    }
    if (!this.#budget.take(this, CALL_BYTES)) this.#refuseOverBudget();
  }

  /** grpc-js's ServerWritableStream.write: one response message of a server-streaming call. */
  write(value: unknown): boolean {
    if (this.#done || this.#gone()) return false;
    const framed = this.#serialize(value);
    if (framed === null) return false;
    this.#sendHeaders();
    return this.#stream.write(framed);
  }

  /** grpc-js's ServerWritableStream.end: the stream ends with status OK. */
  end(): void {
    if (this.#done) return;
    this.#finish();
    if (!this.#headersSent) this.#trailersOnly(GrpcCode.OK, "OK");
    else if (!this.#gone()) this.#stream.end();
  }

  /** "cancelled" when the client goes away or the deadline passes first; "close" when the stream closes. */
  on(event: CallEvent, listener: () => void): this {
    (this.#listeners ??= []).push([event, listener]);
    return this;
  }

  #emit(event: CallEvent): void {
    if (this.#listeners === undefined) return;
    for (const [name, listener] of this.#listeners) if (name === event) listener();
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return; // answered early (refused, deadline): the rest is read and dropped
    if (!this.#budget.take(this, chunk.length)) return this.#refuseOverBudget();
    const chunks = this.#chunks;
    if (chunks === null) this.#chunks = chunk;
    else if (Array.isArray(chunks)) chunks.push(chunk);
    else this.#chunks = [chunks, chunk];
    this.#received += chunk.length;
    if (this.#length === -1 && this.#received >= 5) {
      const prefix = this.#bytes();
      const refusal = this.#refusePrefix(prefix[0] as number, prefix.readUInt32BE(1));
      if (refusal !== null) return this.#fail(refusal[0], refusal[1]);
      this.#length = prefix.readUInt32BE(1);
    }
    if (this.#length !== -1 && this.#received > 5 + this.#length) {
      this.#fail(GrpcCode.UNIMPLEMENTED, `Received a second request message for ${this.#path}`);
    }
  }

  #refuseOverBudget(): void {
    const limit = this.#budget.limit;
    this.#fail(GrpcCode.RESOURCE_EXHAUSTED, `Server is holding its limit of request bytes (${limit})`);
  }

  /** Every byte received so far, in one buffer (the chunk itself when there is one). */
  #bytes(): Buffer {
    const chunks = this.#chunks;
    if (chunks === null) return Buffer.alloc(0);
    return Array.isArray(chunks) ? Buffer.concat(chunks, this.#received) : chunks;
  }

  /** Why a message prefix is refused, as grpc does: compression it cannot read, or a message over the limit. */
  #refusePrefix(flag: number, length: number): [number, string] | null {
    if (flag === 1) {
      const encoding = this.#encoding ?? "identity";
      if (encoding === "identity") return [GrpcCode.INTERNAL, "Compressed flag set with identity encoding"];
      return [GrpcCode.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`];
    }
    if (flag !== 0) return [GrpcCode.INTERNAL, `Invalid message flag ${flag}`];
    if (length > this.#maxBytes) {
      return [GrpcCode.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${this.#maxBytes})`];
    }
    return null;
  }

  #onEnd(): void {
    if (this.#done) return;
    if (this.#received === 0)
      return this.#fail(GrpcCode.UNIMPLEMENTED, `Received no request message for ${this.#path}`);
    if (this.#length === -1 || this.#received < 5 + this.#length) {
      return this.#fail(GrpcCode.INTERNAL, "Request message truncated");
    }
    const whole = this.#bytes();
    this.#chunks = null;
    try {
      this.request = this.#method.deserialize(whole.subarray(5));
    } catch {
      return this.#fail(GrpcCode.INTERNAL, "Error deserializing request");
    }
    try {
      if (this.#method.responseStream) this.#method.handler(this);
      else this.#method.handler(this, (error: HandlerError | null, value?: unknown) => this.#answer(error, value));
    } catch {
      this.#fail(GrpcCode.INTERNAL, "Handler failed");
    }
  }

  /** A unary handler's callback: headers, message and (on 'wantTrailers') the OK trailers, queued at once. */
  #answer(error: HandlerError | null, value: unknown): void {
    if (this.#done) return;
    if (error !== null && error !== undefined) {
      return this.#fail(error.code ?? GrpcCode.UNKNOWN, error.details ?? error.message ?? "");
    }
    const framed = this.#serialize(value);
    if (framed === null) return;
    this.#finish();
    if (this.#gone()) return;
    this.#sendHeaders();
    this.#stream.end(framed);
  }

  #serialize(value: unknown): Buffer | null {
    try {
      return frameMessage(this.#method.serialize(value));
    } catch {
      this.#fail(GrpcCode.INTERNAL, "Error serializing response");
      return null;
    }
  }

  #sendHeaders(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    const stream = this.#stream;
    // 'wantTrailers' comes once per stream. A unary answer always ends OK (its headers leave with its
    // message, after which nothing can fail it), so it takes one shared listener instead of a closure.
    if (!this.#method.responseStream) stream.on("wantTrailers", sendOkTrailers);
    else stream.on("wantTrailers", () => stream.destroyed || stream.closed || stream.sendTrailers(this.#trailers));
    stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
  }

  /** Answers with an error status: trailers-only before any message, else in the trailers. */
  #fail(code: number, message: string): void {
    if (this.#done) return;
    this.#finish();
    if (this.#gone()) return;
    if (!this.#headersSent) return this.#trailersOnly(code, message);
    this.#trailers = statusTrailers(code, message);
    this.#stream.end();
  }

  /**
   * Nothing can be sent: destroyed, or closed (an RST, or the session gone) before node destroys it.
   * respond() and sendTrailers() throw on a closed stream, and a peer that drops its connection
   * mid-message ends each stream's reading before it is destroyed.
   */
  #gone(): boolean {
    return this.#stream.destroyed || this.#stream.closed;
  }

  #trailersOnly(code: number, message: string): void {
    if (this.#gone() || this.#stream.headersSent) return;
    this.#stream.respond(trailersOnly(code, message), RESPOND_AND_END);
    // Whatever the client still sends is read and dropped, so its flow-control window keeps moving.
    this.#stream.resume();
  }

  #finish(): void {
    this.#done = true;
    this.#chunks = null;
    this.#budget.release(this);
    if (this.deadlineAt !== Infinity) this.#deadlines.delete(this);
  }

  /** The sweeper's call when the grpc-timeout has passed. */
  expire(): void {
    this.#abandon(GrpcCode.DEADLINE_EXCEEDED, "Deadline exceeded");
  }

  /** The budget's call when it needs this large request's bytes for smaller ones. */
  exhaust(): void {
    this.#abandon(GrpcCode.RESOURCE_EXHAUSTED, "Server is holding its limit of request bytes; large request ended");
  }

  #abandon(code: number, message: string): void {
    if (this.#done) return;
    // The handler's work is not interrupted (a decision has no cancellation point); its answer is dropped.
    this.#fail(code, message);
    this.cancelled = true;
    this.#emit("cancelled");
  }

  #onClose(): void {
    // Once closed, node:http2 keeps the stream reachable for V8's young collections until a full one;
    // its listeners must not keep this call (request, handler closures) reachable with it.
    releaseClosedStream(this.#stream);
    if (!this.#done) {
      this.#finish();
      this.cancelled = true;
      this.#emit("cancelled");
    }
    this.#emit("close");
  }
}
