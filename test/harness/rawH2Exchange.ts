// HTTP/2 written by hand on a TCP socket, for tests that send what no client library would: frames,
// header blocks of literal fields (any bytes, no Huffman, no indexing), and one exchange that ends
// with this side's own GOAWAY, so that every server answers or refuses what it read and then closes.
import { connect as connectTcp } from "node:net";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FrameType = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;

export type Field = readonly [string, string];

export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** Literal fields without indexing, literal names (latin1 bytes as written); names and values under 127 bytes. */
export function literalBlock(fields: readonly Field[]): Buffer {
  const parts = fields.map(([name, value]) =>
    Buffer.concat([
      Buffer.from([0x00, name.length]),
      Buffer.from(name, "latin1"),
      Buffer.from([value.length]),
      Buffer.from(value, "latin1"),
    ]),
  );
  return Buffer.concat(parts);
}

/**
 * Writes the preface, an empty SETTINGS, `bytes` and a GOAWAY; resolves with the frames the server sent
 * (type and stream) once it closed the connection.
 */
export function exchange(port: number, bytes: Buffer): Promise<Array<{ type: number; stream: number }>> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const received = Buffer.concat(chunks);
      const frames: Array<{ type: number; stream: number }> = [];
      for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3))
        frames.push({ type: received[at + 3]!, stream: received.readUInt32BE(at + 5) });
      resolve(frames);
    });
    const goAway = frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8));
    socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)), bytes, goAway]));
  });
}

/**
 * As `exchange`, but this side's GOAWAY waits until the server has finished stream 1 (a frame on it
 * with END_STREAM, its RST_STREAM, or the server's own GOAWAY), or `quietMs` passed without that: a
 * server that decides a request after the connection closed (grpc-js on a loaded machine) then
 * cannot have its decision counted in the next exchange, nor its answer lost.
 */
export function exchangeAnswered(
  port: number,
  bytes: Buffer,
  quietMs = 2_000,
): Promise<Array<{ type: number; stream: number }>> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const frames: Array<{ type: number; stream: number }> = [];
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(quiet);
      if (socket.writable) socket.write(frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8)));
    };
    const quiet = setTimeout(end, quietMs);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9 && received.length >= 9 + received.readUIntBE(0, 3)) {
        const type = received[3]!;
        const flags = received[4]!;
        const stream = received.readUInt32BE(5) & 0x7fffffff;
        frames.push({ type, stream });
        received = received.subarray(9 + received.readUIntBE(0, 3));
        const streamEnds =
          stream === 1 &&
          (type === FrameType.RST_STREAM ||
            ((type === FrameType.HEADERS || type === FrameType.DATA) && (flags & END_STREAM) !== 0));
        if (streamEnds || type === FrameType.GOAWAY) end();
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(quiet);
      resolve(frames);
    });
    socket.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)), bytes]));
  });
}
