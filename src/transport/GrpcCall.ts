// One gRPC call, unary or server-streaming, whatever carries it: reads the one length-prefixed
// request message (refusing compressed, oversize, missing, truncated or repeated ones), keeps the
// grpc-timeout deadline, and answers through its GrpcCallWire (node:http2's stream, or a stream of the
// node:net server's own HTTP/2). It is also the `call` the grpc-js-shaped handlers are given (request,
// cancelled, write, end, on), so createExtAuthzHandlers and createHealthHandlers serve on both unchanged.
import type { DeadlineSweeper } from "./DeadlineSweeper.ts";
import { CALL_BYTES, type BudgetHolder, type RequestByteBudget } from "./RequestByteBudget.ts";
import { frameMessage, GrpcCode } from "./grpcWire.ts";

/** A method as the server routes it: the grpc-js definition's (de)serializers and the implementation. */
export interface GrpcMethod {
  readonly responseStream: boolean;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: any) => Buffer;
  readonly handler: (call: any, callback?: any) => void;
}

/** What a call needs of the HTTP/2 stream under it: its answer's three shapes, and whether it can still send. */
export interface GrpcCallWire {
  /** Nothing can be sent any more (reset, closed, its connection gone). */
  gone(): boolean;
  /** A unary answer: response headers, the framed message and OK trailers, ending the stream. */
  answer(framed: Buffer): void;
  /** One message of a server-streaming answer (the response headers first, once); false when it must wait. */
  write(framed: Buffer): boolean;
  /** Ends the stream with a status: in the trailers after a message, else as a trailers-only answer. */
  finish(code: number, message: string): void;
  /** Whatever the client still sends after an early answer is read and dropped. */
  discard(): void;
}

/** What a handler's callback may be given as an error (grpc-js's ServerErrorResponse shape). */
interface HandlerError {
  code?: number;
  details?: string;
  message?: string;
}

type CallEvent = "cancelled" | "close";

export interface GrpcCallOptions {
  readonly path: string;
  readonly encoding: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly maxBytes: number;
  readonly deadlines: DeadlineSweeper;
  readonly budget: RequestByteBudget;
}

export class GrpcCall implements BudgetHolder {
  /** The decoded request message, set before the handler runs. */
  request: unknown = undefined;
  /** True once the client went away or the deadline passed; the answer is then dropped. */
  cancelled = false;
  readonly #wire: GrpcCallWire;
  readonly #method: GrpcMethod;
  readonly #options: GrpcCallOptions;
  /** The request's bytes so far; an array only once a second chunk arrives (most requests come in one). */
  #chunks: Buffer | Buffer[] | null = null;
  #received = 0;
  /** The message length from its prefix, once 5 bytes are in; -1 before. */
  #length = -1;
  #done = false;
  /** performance.now() time the grpc-timeout (else the wait for the request) passes; Infinity after. */
  deadlineAt = Infinity;
  /**
   * The client set no grpc-timeout: the deadline is the server's wait for the whole request
   * (deadlines.requestWaitMs, END_STREAM), lifted once it is here so a health Watch stream lives on. A
   * peer that opens streams and sends nothing would otherwise hold their budget (RequestByteBudget)
   * until its connection ends. Envoy always sends grpc-timeout, which bounds its whole call instead.
   */
  #waitingOnly = false;
  #listeners: Array<[CallEvent, () => void]> | undefined;
  /** The request bytes this call holds against the server's budget, given back when it finishes. */
  heldBytes = 0;

  constructor(wire: GrpcCallWire, method: GrpcMethod, options: GrpcCallOptions) {
    this.#wire = wire;
    this.#method = method;
    this.#options = options;
    this.#waitingOnly = options.timeoutMs === undefined;
    this.deadlineAt = performance.now() + (options.timeoutMs ?? options.deadlines.requestWaitMs);
    options.deadlines.add(this);
    if (!options.budget.take(this, CALL_BYTES)) this.#refuseOverBudget();
  }

  /** grpc-js's ServerWritableStream.write: one response message of a server-streaming call. */
  write(value: unknown): boolean {
    if (this.#done || this.#wire.gone()) return false;
    const framed = this.#serialize(value);
    return framed !== null && this.#wire.write(framed);
  }

  /** grpc-js's ServerWritableStream.end: the stream ends with status OK. */
  end(): void {
    if (this.#done) return;
    this.#finish();
    if (!this.#wire.gone()) this.#wire.finish(GrpcCode.OK, "OK");
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

  /** A chunk of the request's DATA. */
  receive(chunk: Buffer): void {
    if (this.#done) return; // answered early (refused, deadline): the rest is read and dropped
    if (!this.#options.budget.take(this, chunk.length)) return this.#refuseOverBudget();
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
      this.#fail(GrpcCode.UNIMPLEMENTED, `Received a second request message for ${this.#options.path}`);
    }
  }

  #refuseOverBudget(): void {
    const limit = this.#options.budget.limit;
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
      const encoding = this.#options.encoding ?? "identity";
      if (encoding === "identity") return [GrpcCode.INTERNAL, "Compressed flag set with identity encoding"];
      return [GrpcCode.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`];
    }
    if (flag !== 0) return [GrpcCode.INTERNAL, `Invalid message flag ${flag}`];
    if (length > this.#options.maxBytes) {
      return [
        GrpcCode.RESOURCE_EXHAUSTED,
        `Received message larger than max (${length} vs. ${this.#options.maxBytes})`,
      ];
    }
    return null;
  }

  /** The client ended its side: the request is whole (or refused), and the handler runs. */
  receiveEnd(): void {
    if (this.#done) return;
    if (this.#waitingOnly) {
      // The request is here: a call the client gave no deadline runs (or streams) as long as it needs.
      this.#options.deadlines.delete(this);
      this.deadlineAt = Infinity;
    }
    if (this.#received === 0)
      return this.#fail(GrpcCode.UNIMPLEMENTED, `Received no request message for ${this.#options.path}`);
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

  /** A unary handler's callback: headers, message and OK trailers, queued at once. */
  #answer(error: HandlerError | null, value: unknown): void {
    if (this.#done) return;
    if (error !== null && error !== undefined) {
      return this.#fail(error.code ?? GrpcCode.UNKNOWN, error.details ?? error.message ?? "");
    }
    const framed = this.#serialize(value);
    if (framed === null) return;
    this.#finish();
    if (!this.#wire.gone()) this.#wire.answer(framed);
  }

  #serialize(value: unknown): Buffer | null {
    try {
      return frameMessage(this.#method.serialize(value));
    } catch {
      this.#fail(GrpcCode.INTERNAL, "Error serializing response");
      return null;
    }
  }

  /** Answers with an error status: trailers-only before any message, else in the trailers. */
  #fail(code: number, message: string): void {
    if (this.#done) return;
    this.#finish();
    if (this.#wire.gone()) return;
    this.#wire.finish(code, message);
    this.#wire.discard();
  }

  #finish(): void {
    this.#done = true;
    this.#chunks = null;
    this.#options.budget.release(this);
    if (this.deadlineAt !== Infinity) this.#options.deadlines.delete(this);
  }

  /** The sweeper's call when the grpc-timeout (or the wait for the request) has passed. */
  expire(): void {
    this.#abandon(
      GrpcCode.DEADLINE_EXCEEDED,
      this.#waitingOnly ? "Request message not received in time" : "Deadline exceeded",
    );
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

  /** The stream is closed (answered, reset, or its connection gone). */
  closed(): void {
    if (!this.#done) {
      this.#finish();
      this.cancelled = true;
      this.#emit("cancelled");
    }
    this.#emit("close");
  }
}
