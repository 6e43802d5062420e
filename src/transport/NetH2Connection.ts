// One HTTP/2 connection of the node:net gRPC server (h2c, as Envoy's ext_authz cluster speaks it):
// frames read from the socket's bytes, HPACK-decoded headers, streams routed to gRPC calls, answers
// queued and written together once the turn's work is done. Strict where RFC 9113 says a peer is
// wrong (every such error ends the connection with GOAWAY) and bounded everywhere (frame size, header
// block and list sizes, streams, windows), since whatever can reach the port can speak to it. Long on
// purpose: the connection is one state machine (RFC 9113 §5.1), and each frame's rules read best beside
// the others'.
import type { Socket } from "node:net";
import { GrpcCall, type GrpcMethod } from "./GrpcCall.ts";
import type { DeadlineSweeper } from "./DeadlineSweeper.ts";
import {
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  goAwayFrame,
  H2Error,
  PREFACE,
  rstStreamFrame,
  Setting,
  SETTINGS_ACK,
  settingsFrame,
  windowUpdateFrame,
  frame,
} from "./h2Frames.ts";
import { CompressionError, HpackDecoder } from "./HpackDecoder.ts";
import type { RequestHeaders } from "./RequestHeaders.ts";
import { GrpcCode, isGrpcProtoContentType, parseGrpcTimeout } from "./grpcWire.ts";
import { NetH2Stream, type StreamHost } from "./NetH2Stream.ts";
import type { RequestByteBudget } from "./RequestByteBudget.ts";

/** What this server announces and holds peers to. */
const MAX_FRAME_SIZE = 16_384;
const MAX_CONCURRENT_STREAMS = 1000;
/** A stream's receive window: a whole 1 MiB message and its prefix fit without waiting for a WINDOW_UPDATE. */
export const NET_STREAM_WINDOW = 2 * 1024 * 1024;
/** Room for a stream's worth in flight on the connection before it is replenished (every read). */
const CONNECTION_WINDOW = 16 * 1024 * 1024;
const MAX_HEADER_LIST_SIZE = 64 * 1024;
/** A header block (HEADERS + CONTINUATIONs) longer than this ends the connection: no peer needs it. */
const MAX_HEADER_BLOCK = 128 * 1024;
const MAX_WINDOW = 2 ** 31 - 1;
/** Streams the peer may reset before their answer, per second on average (bursts of 10x): past it, GOAWAY. */
const RESETS_PER_SECOND = 1000;
/**
 * Bytes queued for the peer, past which no more of its frames are read until the socket drains: a peer
 * that does not read would otherwise have every PING, SETTINGS and refused request answered into memory
 * (a 14-byte HEADERS can cost a 12 KiB refusal). Far above what a reading peer leaves queued.
 */
const OUT_HIGH_WATER = 256 * 1024;
const NO_BYTES = Buffer.alloc(0);
const BOOLEAN_SETTINGS = new Set<number>([
  Setting.ENABLE_PUSH,
  Setting.ENABLE_CONNECT_PROTOCOL,
  Setting.NO_RFC7540_PRIORITIES,
]);

export interface NetH2Options {
  readonly methods: ReadonlyMap<string, GrpcMethod>;
  readonly maxBytes: number;
  readonly deadlines: DeadlineSweeper;
  readonly budget: RequestByteBudget;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
}

class ConnectionError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export class NetH2Connection implements StreamHost {
  sendWindow = 65_535;
  maxFrameSize = 16_384;
  readonly #socket: Socket;
  readonly #options: NetH2Options;
  readonly #decoder = new HpackDecoder(MAX_HEADER_LIST_SIZE);
  readonly #streams = new Map<number, NetH2Stream>();
  /** Streams with DATA waiting for window; #waiting, those of them whose own window is open (the connection's is not). */
  readonly #blocked = new Set<NetH2Stream>();
  readonly #waiting = new Set<NetH2Stream>();
  #buffer: Buffer | null = null;
  /** Chunks read since, while #buffer and they hold less than #want bytes: joined once, not per read. */
  #more: Buffer[] = [];
  #moreBytes = 0;
  /** What #buffer must hold before anything can be parsed: the frame it has begun, else a frame header. */
  #want = 0;
  #prefaceSeen = false;
  #peerStreamWindow = 65_535;
  #lastStream = 0;
  /** The header block being assembled from HEADERS + CONTINUATION frames. */
  #block: { stream: number; flags: number; parts: Buffer[]; size: number } | null = null;
  #out: Buffer[] = [];
  #outBytes = 0;
  #flushScheduled = false;
  /** Reading stopped while the peer does not read what it was sent (OUT_HIGH_WATER). */
  #paused = false;
  #goingAway = false;
  #closed = false;
  #resetAllowance = 10 * RESETS_PER_SECOND;
  #resetCheckedAt = performance.now();
  #pingTimer: NodeJS.Timeout | undefined;
  #pingOutstanding = false;
  readonly #onClose: () => void;

  constructor(socket: Socket, options: NetH2Options, onClose: () => void) {
    this.#socket = socket;
    this.#options = options;
    this.#onClose = onClose;
    socket.setNoDelay(true);
    this.send(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS],
        [Setting.INITIAL_WINDOW_SIZE, NET_STREAM_WINDOW],
        [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_SIZE],
        [Setting.ENABLE_PUSH, 0],
      ]),
    );
    this.send(windowUpdateFrame(0, CONNECTION_WINDOW - 65_535));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => this.destroy());
    socket.on("close", () => this.#onSocketClose());
    socket.on("end", () => this.destroy());
    socket.on("drain", () => this.#resume());
    this.#schedulePing();
  }

  /** Queues bytes; they are written together once the current turn's work (decisions included) is done. */
  send(bytes: Buffer): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#out.length === 0) return;
    const out = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    this.#socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (this.#goingAway && this.#streams.size === 0) this.#socket.end();
    // The kernel took it all: the peer reads, and what stopped reading carries on (else at 'drain').
    if (this.#paused && this.#socket.writableLength <= OUT_HIGH_WATER) this.#resume();
  }

  #resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.#socket.resume();
    this.#onData(NO_BYTES); // the frames read before reading stopped
  }

  release(stream: NetH2Stream): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    this.#waiting.delete(stream);
    // The answer is complete but the client is still sending: tell it to stop (RFC 9113 §8.1).
    if (!stream.remoteEnded && !stream.reset) this.send(rstStreamFrame(stream.id, H2Error.NO_ERROR));
    stream.call?.closed();
    if (this.#goingAway && this.#streams.size === 0) this.send(Buffer.alloc(0));
  }

  block(stream: NetH2Stream): void {
    this.#blocked.add(stream);
    if (stream.sendWindow > 0) this.#waiting.add(stream);
  }

  /** Graceful: GOAWAY, no new streams, the connection ends once the open ones are answered. */
  goAway(): void {
    if (this.#goingAway || this.#closed) return;
    this.#goingAway = true;
    this.send(goAwayFrame(this.#lastStream, H2Error.NO_ERROR));
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
  }

  #onSocketClose(): void {
    this.#closed = true;
    clearTimeout(this.#pingTimer);
    for (const stream of this.#streams.values()) {
      stream.reset = true;
      stream.call?.closed();
    }
    this.#streams.clear();
    this.#blocked.clear();
    this.#waiting.clear();
    this.#onClose();
  }

  #fatal(code: number): void {
    if (this.#closed) return;
    this.#socket.end(Buffer.concat([...this.#out, goAwayFrame(this.#lastStream, code)]));
    this.#out = [];
    this.#closed = true;
    // A peer that does not close its side is not waited for.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#buffer !== null && this.#buffer.length + this.#moreBytes + chunk.length < this.#want) {
      // A frame trickling in: joining on every read would copy it over and over (quadratic in its length).
      this.#more.push(chunk);
      this.#moreBytes += chunk.length;
      return;
    }
    let buf = this.#buffer === null ? chunk : Buffer.concat([this.#buffer, ...this.#more, chunk]);
    this.#buffer = null;
    if (this.#moreBytes > 0) {
      this.#more = [];
      this.#moreBytes = 0;
    }
    this.#want = FRAME_HEADER_BYTES;
    if (this.#paused) {
      this.#buffer = buf;
      this.#want = 0;
      return;
    }
    let at = 0;
    let consumed = 0;
    try {
      if (!this.#prefaceSeen) {
        if (buf.length < PREFACE.length) {
          if (!PREFACE.subarray(0, buf.length).equals(buf))
            throw new ConnectionError(H2Error.PROTOCOL_ERROR, "bad preface");
          this.#buffer = buf;
          this.#want = PREFACE.length;
          return;
        }
        if (!buf.subarray(0, PREFACE.length).equals(PREFACE))
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, "bad preface");
        this.#prefaceSeen = true;
        at = PREFACE.length;
      }
      while (buf.length - at >= FRAME_HEADER_BYTES) {
        if (this.#outBytes + this.#socket.writableLength > OUT_HIGH_WATER) {
          this.#paused = true;
          this.#want = 0;
          this.#socket.pause();
          break;
        }
        const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
        if (length > MAX_FRAME_SIZE) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "frame too large");
        if (buf.length - at < FRAME_HEADER_BYTES + length) {
          this.#want = FRAME_HEADER_BYTES + length;
          break;
        }
        const type = buf[at + 3]!;
        const flags = buf[at + 4]!;
        const stream = buf.readUInt32BE(at + 5) & 0x7fffffff;
        const start = at + FRAME_HEADER_BYTES;
        at = start + length;
        if (type === FrameType.DATA) consumed += length;
        this.#frame(type, flags, stream, buf, start, at);
        if (this.#closed) return;
      }
    } catch (error) {
      this.#fatal(
        error instanceof ConnectionError
          ? error.code
          : error instanceof CompressionError
            ? H2Error.COMPRESSION_ERROR
            : H2Error.INTERNAL_ERROR,
      );
      return;
    }
    if (at < buf.length) this.#buffer = Buffer.from(buf.subarray(at));
    // The connection window, given back for every DATA byte read (a stream's own is its whole message).
    if (consumed > 0) this.send(windowUpdateFrame(0, consumed));
  }

  #frame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (this.#block !== null && type !== FrameType.CONTINUATION)
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, "header block interrupted");
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, id, buf, start, end);
      case FrameType.HEADERS:
        return this.#headers(flags, id, buf, start, end);
      case FrameType.CONTINUATION:
        return this.#continuation(flags, id, buf, start, end);
      case FrameType.PRIORITY:
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (end - start !== 5) this.send(rstStreamFrame(id, H2Error.FRAME_SIZE_ERROR));
        return;
      case FrameType.RST_STREAM:
        return this.#rstStream(id, start, end);
      case FrameType.SETTINGS:
        return this.#settings(flags, id, buf, start, end);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "PING on a stream");
        if (end - start !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "PING not 8 bytes");
        if (flags & Flag.ACK) this.#pingOutstanding = false;
        else this.send(frame(FrameType.PING, Flag.ACK, 0, Buffer.from(buf.subarray(start, end))));
        return;
      case FrameType.GOAWAY:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (end - start < 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "GOAWAY shorter than 8 bytes");
        this.goAway();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(id, buf, start, end);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /** The payload without its padding (PADDED flag): [start, end]. */
  #unpad(flags: number, buf: Buffer, start: number, end: number): [number, number] {
    if (!(flags & Flag.PADDED)) return [start, end];
    if (end - start < 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "padding length missing");
    const pad = buf[start]!;
    if (pad >= end - start) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "padding past the payload");
    return [start + 1, end - pad];
  }

  #data(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "DATA on stream 0");
    if (id > this.#lastStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "DATA on an idle stream");
    const stream = this.#streams.get(id);
    // A stream this side has ended or reset: what was already in flight is read and dropped.
    if (stream === undefined) return;
    if (stream.remoteEnded) throw new ConnectionError(H2Error.STREAM_CLOSED, "DATA after END_STREAM");
    const [from, to] = this.#unpad(flags, buf, start, end);
    if (flags & Flag.END_STREAM) stream.remoteEnded = true;
    if (stream.contentLeft !== -1) {
      // DATA past the content-length, or an end short of it: the request is malformed.
      stream.contentLeft -= to - from;
      if (stream.contentLeft < 0 || (stream.remoteEnded && stream.contentLeft !== 0))
        return this.#resetStream(stream, H2Error.PROTOCOL_ERROR);
    }
    const call = stream.call;
    if (call !== null && to > from) call.receive(Buffer.from(buf.subarray(from, to)));
    if (stream.remoteEnded) {
      if (call !== null) call.receiveEnd();
    } else if (end > start && this.#streams.has(id)) this.send(windowUpdateFrame(id, end - start));
  }

  #headers(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0 || id % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "HEADERS on an invalid stream id");
    let [from, to] = this.#unpad(flags, buf, start, end);
    if (flags & Flag.PRIORITY) {
      if (to - from < 5) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "priority fields missing");
      // RFC 9113 §5.3.1 (RFC 7540's priority scheme): as nghttp2, an error for the connection.
      if ((buf.readUInt32BE(from) & 0x7fffffff) === id)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, "stream depends on itself");
      from += 5;
    }
    const part = buf.subarray(from, to);
    if (flags & Flag.END_HEADERS) return this.#headerBlock(id, flags, part);
    this.#block = { stream: id, flags, parts: [Buffer.from(part)], size: part.length };
  }

  #continuation(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    const block = this.#block;
    if (block === null || block.stream !== id)
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, "unexpected CONTINUATION");
    // Each frame counts its header too: empty CONTINUATIONs would otherwise pile up for free.
    block.size += FRAME_HEADER_BYTES + end - start;
    if (block.size > MAX_HEADER_BLOCK) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "header block too large");
    if (end > start) block.parts.push(Buffer.from(buf.subarray(start, end)));
    if (!(flags & Flag.END_HEADERS)) return;
    this.#block = null;
    this.#headerBlock(id, block.flags, Buffer.concat(block.parts));
  }

  /** A whole header block: a new request, or (on an open stream) the client's trailers. */
  #headerBlock(id: number, flags: number, block: Buffer): void {
    const open = this.#streams.get(id);
    // Decoded whatever becomes of the stream: the dynamic table must stay in step with the peer's.
    const headers = this.#decoder.decode(block, 0, block.length, open !== undefined);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (open !== undefined) {
      // Trailers: they must end the stream; gRPC requests carry none worth reading, but a malformed
      // block makes the whole request malformed (RFC 9113 §8.1.1), never a request to answer.
      if (!endStream || open.remoteEnded)
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, "HEADERS on an open stream");
      open.remoteEnded = true;
      if (headers.malformed !== undefined || open.contentLeft > 0)
        return this.#resetStream(open, H2Error.PROTOCOL_ERROR);
      open.call?.receiveEnd();
      return;
    }
    if (id <= this.#lastStream) {
      if (id % 2 === 1) return; // a stream already ended or reset here: its late trailers are dropped
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, "stream id went backwards");
    }
    this.#lastStream = id;
    if (this.#goingAway || this.#streams.size >= MAX_CONCURRENT_STREAMS) {
      this.send(rstStreamFrame(id, H2Error.REFUSED_STREAM));
      return;
    }
    const stream = new NetH2Stream(id, this.#peerStreamWindow, this);
    stream.remoteEnded = endStream;
    stream.contentLeft = headers.contentLength;
    if (endStream && headers.contentLength > 0) headers.malformed ??= "content-length without DATA";
    this.#streams.set(id, stream);
    this.#route(stream, headers);
  }

  /** As the node:http2 server routes a stream: HTTP-level refusals, then the method, then the call. */
  #route(stream: NetH2Stream, headers: RequestHeaders): void {
    if (headers.malformed !== undefined) return this.#resetStream(stream, H2Error.PROTOCOL_ERROR);
    if (headers.method !== "POST")
      return stream.refuse([
        [":status", "405"],
        ["allow", "POST"],
      ]);
    if (!isGrpcProtoContentType(headers.contentType)) return stream.refuse([[":status", "415"]]);
    const path = headers.path!;
    const method = this.#options.methods.get(path);
    if (method === undefined)
      return stream.finish(GrpcCode.UNIMPLEMENTED, `The server does not implement the method ${path}`);
    const timeoutMs = parseGrpcTimeout(headers.timeout);
    if (timeoutMs === null) return stream.finish(GrpcCode.INTERNAL, `Invalid grpc-timeout value "${headers.timeout}"`);
    const { maxBytes, deadlines, budget } = this.#options;
    stream.call = new GrpcCall(stream, method, {
      path,
      encoding: headers.encoding,
      timeoutMs,
      maxBytes,
      deadlines,
      budget,
    });
    if (stream.remoteEnded && !stream.gone()) stream.call.receiveEnd();
  }

  #rstStream(id: number, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (end - start !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "RST_STREAM not 4 bytes");
    if (id > this.#lastStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    this.#countReset();
    stream.reset = true;
    this.#streams.delete(id);
    this.#blocked.delete(stream);
    this.#waiting.delete(stream);
    stream.call?.closed();
  }

  /** Resetting streams costs the peer nothing and this side a call each: past the allowance, the connection ends. */
  #countReset(): void {
    const now = performance.now();
    this.#resetAllowance = Math.min(
      10 * RESETS_PER_SECOND,
      this.#resetAllowance + ((now - this.#resetCheckedAt) / 1000) * RESETS_PER_SECOND,
    );
    this.#resetCheckedAt = now;
    if (--this.#resetAllowance < 0) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, "too many stream resets");
  }

  #settings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flag.ACK) {
      if (end !== start) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS ack with a payload");
      return;
    }
    if ((end - start) % 6 !== 0)
      throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "SETTINGS not a multiple of 6 bytes");
    let initialWindow = this.#peerStreamWindow;
    for (let at = start; at < end; at += 6) {
      const setting = buf.readUInt16BE(at);
      const value = buf.readUInt32BE(at + 2);
      // The boolean settings (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9113 §5.3.2): 0 or 1, as nghttp2 holds them.
      if (value > 1 && BOOLEAN_SETTINGS.has(setting))
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, `setting ${setting} not 0 or 1`);
      if (setting === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large");
        initialWindow = value;
      }
      if (setting === Setting.MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215)
          throw new ConnectionError(H2Error.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range");
        this.maxFrameSize = value;
      }
    }
    const grew = initialWindow > this.#peerStreamWindow;
    if (initialWindow !== this.#peerStreamWindow) this.#changeInitialWindow(initialWindow);
    this.send(SETTINGS_ACK);
    if (grew) this.#unblock(this.#blocked);
  }

  /**
   * Every open stream's window moves by the change (RFC 9113 §6.9.2), once per SETTINGS frame whatever
   * number of entries it repeats; a window taken past 2^31-1 is the connection's FLOW_CONTROL_ERROR.
   */
  #changeInitialWindow(value: number): void {
    const delta = value - this.#peerStreamWindow;
    this.#peerStreamWindow = value;
    for (const stream of this.#streams.values()) {
      stream.sendWindow += delta;
      if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "window past 2^31-1");
    }
  }

  #windowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, "WINDOW_UPDATE not 4 bytes");
    const increment = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      if (this.sendWindow + increment > MAX_WINDOW)
        throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, "window past 2^31-1");
      const wasShut = this.sendWindow <= 0;
      this.sendWindow += increment;
      // Streams wait on the connection's window only once it is spent; before that, on their own.
      if (wasShut) this.#unblock(this.#waiting);
      return;
    }
    if (id > this.#lastStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    if (increment === 0 || stream.sendWindow + increment > MAX_WINDOW)
      return this.#resetStream(stream, increment === 0 ? H2Error.PROTOCOL_ERROR : H2Error.FLOW_CONTROL_ERROR);
    stream.sendWindow += increment;
    // Only this stream's window moved: only it may send more (the others are not walked per frame).
    if (this.#blocked.has(stream)) this.#flushStream(stream);
  }

  /** A stream error (RFC 9113 §5.4.2): RST_STREAM, and its call (if any) ends unanswered. */
  #resetStream(stream: NetH2Stream, code: number): void {
    stream.reset = true;
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    this.#waiting.delete(stream);
    this.send(rstStreamFrame(stream.id, code));
    stream.call?.closed();
  }

  /**
   * Sends what waited in `streams`, stream by stream, while the connection's window lasts. A blocked
   * stream waits on its own window or the connection's, and a WINDOW_UPDATE walks only the streams it
   * can unblock: one frame of a few bytes never costs a walk of every blocked stream.
   */
  #unblock(streams: Set<NetH2Stream>): void {
    for (const stream of streams) {
      if (this.sendWindow <= 0) return;
      this.#flushStream(stream);
    }
  }

  #flushStream(stream: NetH2Stream): void {
    if (stream.flush()) {
      this.#blocked.delete(stream);
      this.#waiting.delete(stream);
    } else if (stream.sendWindow > 0) this.#waiting.add(stream);
    else this.#waiting.delete(stream);
  }

  /** grpc-js's server keepalive: a ping every keepaliveTimeMs; no ack within keepaliveTimeoutMs drops the connection. */
  #schedulePing(): void {
    const { keepaliveTimeMs, keepaliveTimeoutMs } = this.#options;
    this.#pingTimer = setTimeout(() => {
      if (this.#closed) return;
      this.#pingOutstanding = true;
      this.send(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
      this.#pingTimer = setTimeout(
        () => (this.#pingOutstanding ? this.destroy() : this.#schedulePing()),
        keepaliveTimeoutMs,
      );
      this.#pingTimer.unref();
    }, keepaliveTimeMs);
    this.#pingTimer.unref();
  }
}
