// One stream of the node:net gRPC server's HTTP/2 connection: its flow-control window, the state of
// each side, and the GrpcCallWire its call answers through. Answers go out as pre-coded header blocks
// around the message; DATA waits while the peer's window is short (RFC 9113 §6.9) and trailers wait
// behind it, so an answer always leaves in order.
import type { GrpcCall, GrpcCallWire } from "./GrpcCall.ts";
import { encodeHeaderBlock, Flag, FRAME_HEADER_BYTES, FrameType, writeFrameHeader } from "./h2Frames.ts";
import { GrpcCode, percentEncode } from "./grpcWire.ts";

const CONTENT_TYPE = "application/grpc+proto";
const RESPONSE_BLOCK = encodeHeaderBlock([
  [":status", "200"],
  ["content-type", CONTENT_TYPE],
]);
const OK_TRAILERS_BLOCK = encodeHeaderBlock([["grpc-status", "0"]]);

/** What a stream needs of its connection: frames out, the windows it shares, its end. */
export interface StreamHost {
  /** The peer's connection-level window for DATA; a stream takes from it as it sends. */
  sendWindow: number;
  readonly maxFrameSize: number;
  /** Queues bytes for the socket (written together once the current turn's work is done). */
  send(bytes: Buffer): void;
  /** This side has ended the stream: forget it (with RST_STREAM NO_ERROR if the client has not ended its side). */
  release(stream: NetH2Stream): void;
  /** The stream has DATA waiting for window. */
  block(stream: NetH2Stream): void;
}

export class NetH2Stream implements GrpcCallWire {
  readonly id: number;
  call: GrpcCall | null = null;
  /** The peer's window for this stream's DATA. */
  sendWindow: number;
  /** The peer has ended its side (END_STREAM). */
  remoteEnded = false;
  /** This side has sent END_STREAM, or the stream was reset. */
  localEnded = false;
  reset = false;
  /** DATA bytes its content-length still announces, -1 without one (RFC 9113 §8.1.1). */
  contentLeft = -1;
  #headersSent = false;
  /** DATA (and the trailers after it) waiting for window, in order. */
  #pending: Array<{ data: Buffer | null; block: Buffer; end: boolean }> | null = null;
  readonly #host: StreamHost;

  constructor(id: number, sendWindow: number, host: StreamHost) {
    this.id = id;
    this.sendWindow = sendWindow;
    this.#host = host;
  }

  gone(): boolean {
    return this.localEnded || this.reset;
  }

  answer(framed: Buffer): void {
    const host = this.#host;
    const fits =
      this.#pending === null && framed.length <= Math.min(this.sendWindow, host.sendWindow, host.maxFrameSize);
    this.localEnded = true;
    if (!fits) {
      this.#sendHeaders();
      this.#queue(framed, OK_TRAILERS_BLOCK, true);
      return;
    }
    // Headers, message and trailers in one buffer: one write for the whole answer.
    this.#headersSent = true;
    this.sendWindow -= framed.length;
    host.sendWindow -= framed.length;
    const out = Buffer.allocUnsafe(
      3 * FRAME_HEADER_BYTES + RESPONSE_BLOCK.length + framed.length + OK_TRAILERS_BLOCK.length,
    );
    let at = 0;
    writeFrameHeader(out, at, RESPONSE_BLOCK.length, FrameType.HEADERS, Flag.END_HEADERS, this.id);
    at += FRAME_HEADER_BYTES + RESPONSE_BLOCK.copy(out, at + FRAME_HEADER_BYTES);
    writeFrameHeader(out, at, framed.length, FrameType.DATA, 0, this.id);
    at += FRAME_HEADER_BYTES + framed.copy(out, at + FRAME_HEADER_BYTES);
    writeFrameHeader(out, at, OK_TRAILERS_BLOCK.length, FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, this.id);
    OK_TRAILERS_BLOCK.copy(out, at + FRAME_HEADER_BYTES);
    host.send(out);
    this.#ended();
  }

  write(framed: Buffer): boolean {
    this.#sendHeaders();
    this.#queue(framed, null, false);
    return this.#pending === null;
  }

  finish(code: number, message: string): void {
    this.localEnded = true;
    const status: Array<[string, string]> = [["grpc-status", String(code)]];
    if (code !== GrpcCode.OK) status.push(["grpc-message", percentEncode(message)]);
    const block = this.#headersSent
      ? encodeHeaderBlock(status)
      : encodeHeaderBlock([[":status", "200"], ["content-type", CONTENT_TYPE], ...status]);
    this.#headersSent = true;
    if (this.#pending !== null) this.#pending.push({ data: null, block, end: true });
    else {
      this.#host.send(headersFrame(this.id, block, true, this.#host.maxFrameSize));
      this.#ended();
    }
  }

  /** An answer at the HTTP level (405, 415) before any call: one header block that ends the stream. */
  refuse(fields: ReadonlyArray<readonly [string, string]>): void {
    this.localEnded = true;
    this.#headersSent = true;
    this.#host.send(headersFrame(this.id, encodeHeaderBlock(fields), true, this.#host.maxFrameSize));
    this.#ended();
  }

  /** The connection reads and drops what the client still sends; nothing to do here. */
  discard(): void {}

  /** Sends what waited for window, as far as the windows now allow; true once nothing waits. */
  flush(): boolean {
    const pending = this.#pending;
    if (pending === null) return true;
    const host = this.#host;
    while (pending.length > 0) {
      const next = pending[0]!;
      if (next.data !== null && next.data.length > 0) {
        const room = Math.min(this.sendWindow, host.sendWindow, host.maxFrameSize, next.data.length);
        if (room <= 0) return false;
        host.send(dataFrame(this.id, next.data.subarray(0, room)));
        this.sendWindow -= room;
        host.sendWindow -= room;
        next.data = next.data.subarray(room);
        if (next.data.length > 0) continue;
      }
      pending.shift();
      if (next.block.length > 0 || next.end) host.send(headersFrame(this.id, next.block, next.end, host.maxFrameSize));
    }
    this.#pending = null;
    if (this.localEnded) this.#ended();
    return true;
  }

  #sendHeaders(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    this.#host.send(headersFrame(this.id, RESPONSE_BLOCK, false, this.#host.maxFrameSize));
  }

  #queue(data: Buffer, trailers: Buffer | null, end: boolean): void {
    (this.#pending ??= []).push({ data, block: trailers ?? EMPTY, end });
    if (!this.flush()) this.#host.block(this);
  }

  /** This side is done: the connection forgets the stream (and resets it if the client is still sending). */
  #ended(): void {
    this.#host.release(this);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A header block as HEADERS, and CONTINUATIONs when it is longer than the peer's frames (RFC 9113 §4.2:
 * a grpc-message naming a long :path or grpc-timeout can be); one buffer, so nothing comes between them.
 */
function headersFrame(stream: number, block: Buffer, end: boolean, maxFrameSize: number): Buffer {
  const frames = Math.max(1, Math.ceil(block.length / maxFrameSize));
  const out = Buffer.allocUnsafe(frames * FRAME_HEADER_BYTES + block.length);
  for (let i = 0, at = 0; i < frames; i++) {
    const part = block.subarray(i * maxFrameSize, (i + 1) * maxFrameSize);
    const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (i === frames - 1 ? Flag.END_HEADERS : 0) | (i === 0 && end ? Flag.END_STREAM : 0);
    writeFrameHeader(out, at, part.length, type, flags, stream);
    at += FRAME_HEADER_BYTES + part.copy(out, at + FRAME_HEADER_BYTES);
  }
  return out;
}

function dataFrame(stream: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + data.length);
  writeFrameHeader(out, 0, data.length, FrameType.DATA, 0, stream);
  data.copy(out, FRAME_HEADER_BYTES);
  return out;
}
