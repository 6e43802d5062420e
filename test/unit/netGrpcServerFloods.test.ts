// The node:net gRPC server against peers that try to make it hold memory: a header block of thousands
// of empty CONTINUATION frames, unfinished header blocks on many connections, and a client that sends
// requests whose answers are far larger than they are and never reads them. Each must meet a bound
// (GOAWAY, or the server stops reading), and an ordinary client must still be answered.
import { connect as connectTcp, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import type { GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { startNetGrpcServer } from "../../src/transport/startNetGrpcServer.ts";
import { grpcFrame } from "../harness/rawGrpcCall.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const [DATA, HEADERS, SETTINGS, GOAWAY, CONTINUATION] = [0x0, 0x1, 0x4, 0x7, 0x9];
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ENHANCE_YOUR_CALM = 11;
const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const upstream = loadUpstreamExtAuthzTypes();
const CHECK_MESSAGE = grpcFrame(upstream.checkRequest.encode(upstream.checkRequest.fromObject({})).finish());

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string literal without Huffman coding. */
function hpackString(value: string): Buffer {
  const bytes = Buffer.from(value, "latin1");
  if (bytes.length < 127) return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  const prefix = [0x7f];
  for (let rest = bytes.length - 127; ; rest >>= 7) {
    if (rest < 128) {
      prefix.push(rest);
      break;
    }
    prefix.push((rest & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from(prefix), bytes]);
}

/** POST, http, :path, :authority, content-type application/grpc: literals without indexing. */
function requestBlock(path = CHECK): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86, 0x04]),
    hpackString(path),
    Buffer.from([0x01]),
    hpackString("portcullis"),
    Buffer.from([0x0f, 0x10]),
    hpackString("application/grpc"),
  ]);
}

function parseFrames(bytes: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) {
    const length = bytes.readUIntBE(at, 3);
    if (at + 9 + length > bytes.length) break;
    out.push({
      type: bytes[at + 3]!,
      flags: bytes[at + 4]!,
      stream: bytes.readUInt32BE(at + 5),
      payload: bytes.subarray(at + 9, at + 9 + length),
    });
  }
  return out;
}

/** A raw connection: the preface and an empty SETTINGS, then `bytes`; `closed` has every frame the server sent. */
function openRaw(port: number, bytes: Buffer): { socket: Socket; received: () => Buffer; closed: Promise<Frame[]> } {
  const socket = connectTcp(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => undefined);
  const closed = new Promise<Frame[]>((resolve) =>
    socket.on("close", () => resolve(parseFrames(Buffer.concat(chunks)))),
  );
  socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), bytes]));
  return { socket, received: () => Buffer.concat(chunks), closed };
}

const goAwayCode = (frames: Frame[]) => frames.find((f) => f.type === GOAWAY)?.payload.readUInt32BE(4);

describe("the node:net gRPC server against floods", () => {
  let checks = 0;
  let server: GrpcServer;
  beforeAll(async () => {
    const gate = {
      decide: async (): Promise<Decision> => {
        checks += 1;
        return { kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] };
      },
    };
    server = await startNetGrpcServer({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers(gate, { checked() {} }),
      health: createHealthHandlers(new HealthState()),
    });
  });
  afterAll(() => server.shutdown(1000));

  it("ends a connection whose header block is 20,000 empty CONTINUATION frames with ENHANCE_YOUR_CALM, and decides nothing", async () => {
    const before = checks;
    const parts = [frame(HEADERS, 0, 1, requestBlock())];
    for (let i = 0; i < 20_000; i++) parts.push(frame(CONTINUATION, 0, 1, Buffer.alloc(0)));
    parts.push(frame(CONTINUATION, END_HEADERS, 1, Buffer.alloc(0)), frame(DATA, END_STREAM, 1, CHECK_MESSAGE));
    parts.push(frame(GOAWAY, 0, 0, Buffer.alloc(8))); // so that a server that answers then closes
    const frames = await openRaw(server.port, Buffer.concat(parts)).closed;
    expect(goAwayCode(frames)).toBe(ENHANCE_YOUR_CALM);
    expect(checks).toBe(before);
  });

  it("stops reading a client that sends 8,000 requests for 12 KiB refusals and reads none, and answers them all once it reads", async () => {
    // The first request puts a 3,938-byte :path of '%'s, the authority and the content type in the
    // dynamic table; each later one names all three in 5 bytes, and its UNIMPLEMENTED answer echoes the
    // path percent-encoded.
    const path = "%".repeat(3938);
    const first = Buffer.concat([
      Buffer.from([0x83, 0x86, 0x44]),
      hpackString(path),
      Buffer.from([0x41]),
      hpackString("portcullis"),
      Buffer.from([0x5f]),
      hpackString("application/grpc"),
    ]);
    const parts = [frame(HEADERS, END_HEADERS | END_STREAM, 1, first)];
    const last = 1 + 2 * 8000;
    for (let id = 3; id < last; id += 2)
      parts.push(frame(HEADERS, END_HEADERS | END_STREAM, id, Buffer.from([0x83, 0x86, 0xc0, 0xbf, 0xbe])));
    // A Check after them all: decided only once the server has read that far.
    parts.push(frame(HEADERS, END_HEADERS, last, requestBlock()), frame(DATA, END_STREAM, last, CHECK_MESSAGE));
    const before = checks;
    const heldBefore = process.memoryUsage().arrayBuffers;
    const socket = connectTcp(server.port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.pause();
    await new Promise<void>((resolve) =>
      socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), ...parts]), () => resolve()),
    );
    // Every byte is in the server's kernel buffer: a server that reads on decides the Check within a few turns.
    let maxHeld = 0;
    for (let turn = 0; turn < 50 && checks === before; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      maxHeld = Math.max(maxHeld, process.memoryUsage().arrayBuffers - heldBefore);
    }
    expect(checks).toBe(before);
    expect(maxHeld).toBeLessThan(16 * 1024 * 1024);
    // Once the client reads, every stream is answered: 8,000 refusals and the Check.
    let received = Buffer.alloc(0);
    const answered = new Set<number>();
    await new Promise<void>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        let at = 0;
        for (const f of parseFrames(received)) {
          at += 9 + f.payload.length;
          if (f.type === HEADERS && f.flags & END_STREAM) answered.add(f.stream);
        }
        received = received.subarray(at);
        if (answered.size === 8001) resolve();
      });
      socket.resume();
    });
    socket.destroy();
    expect(checks).toBe(before + 1);
  });
});
