// The node:net gRPC server's own HTTP/2 limits, as a peer meets them: a header block grown past its
// bound by CONTINUATION frames, a flood of stream resets, a client whose flow-control window is smaller
// than the answer (the answer waits for WINDOW_UPDATEs and arrives whole), an answer's header block
// longer than the client's frames (split into CONTINUATIONs), a HEADERS frame that breaks off a header
// block, and a malformed request refused on its stream while the connection carries on.
import { connect } from "node:http2";
import { connect as connectTcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import type { GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { startNetGrpcServer } from "../../src/transport/startNetGrpcServer.ts";
import { grpcFrame, rawGrpcCall } from "../harness/rawGrpcCall.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const [DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, CONTINUATION] = [0x0, 0x1, 0x3, 0x4, 0x7, 0x9];
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ENHANCE_YOUR_CALM = 11;
const PROTOCOL_ERROR = 1;
const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const upstream = loadUpstreamExtAuthzTypes();

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** POST, http, :path Check, :authority, content-type application/grpc: literals without indexing, no Huffman. */
function requestBlock(): Buffer {
  const literal = (index: number, value: string) =>
    Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
  return Buffer.concat([
    Buffer.from([0x83, 0x86]),
    literal(0x04, CHECK),
    literal(0x01, "portcullis"),
    Buffer.concat([Buffer.from([0x0f, 0x10, 16]), Buffer.from("application/grpc")]),
  ]);
}

/** Writes `bytes` after the preface and an empty SETTINGS; resolves with the frames the server sent until it closed. */
function exchange(
  port: number,
  bytes: Buffer,
): Promise<Array<{ type: number; flags: number; stream: number; payload: Buffer }>> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const frames = () => {
      const out: Array<{ type: number; flags: number; stream: number; payload: Buffer }> = [];
      for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) {
        const length = received.readUIntBE(at, 3);
        out.push({
          type: received[at + 3]!,
          flags: received[at + 4]!,
          stream: received.readUInt32BE(at + 5),
          payload: received.subarray(at + 9, at + 9 + length),
        });
      }
      return out;
    };
    socket.on("data", (chunk) => (received = Buffer.concat([received, chunk])));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(frames()));
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), bytes]));
  });
}

const goAwayCode = (frames: Array<{ type: number; payload: Buffer }>) =>
  frames.find((f) => f.type === GOAWAY)?.payload.readUInt32BE(4);

describe("the node:net gRPC server's HTTP/2 limits", () => {
  let checks = 0;
  let server: GrpcServer;
  beforeAll(async () => {
    const gate = {
      decide: async (): Promise<Decision> => {
        checks += 1;
        // A large answer: 40 headers of 1 KiB, so it needs more than a small window.
        const setHeaders = Array.from({ length: 40 }, (_, i) => [`x-h${i}`, "v".repeat(1024)] as [string, string]);
        return { kind: "allow", route: "r", reason: "public", setHeaders, removeHeaders: [] };
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

  it("ends a connection whose header block grows past 128 KiB of CONTINUATION frames with ENHANCE_YOUR_CALM", async () => {
    const parts = [frame(HEADERS, 0, 1, requestBlock())];
    for (let i = 0; i < 10; i++) parts.push(frame(CONTINUATION, 0, 1, Buffer.alloc(16_000, 0x82)));
    const frames = await exchange(server.port, Buffer.concat(parts));
    expect(goAwayCode(frames)).toBe(ENHANCE_YOUR_CALM);
  });

  it("ends a connection that interrupts a header block with another frame (PROTOCOL_ERROR)", async () => {
    const bytes = Buffer.concat([frame(HEADERS, 0, 1, requestBlock()), frame(DATA, 0, 1, Buffer.alloc(1))]);
    expect(goAwayCode(await exchange(server.port, bytes))).toBe(PROTOCOL_ERROR);
  });

  it("ends a connection that resets thousands of streams before their answers with ENHANCE_YOUR_CALM", async () => {
    const parts: Buffer[] = [];
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(8, 0);
    for (let id = 1; id < 2 * 12_000; id += 2)
      parts.push(frame(HEADERS, END_HEADERS, id, requestBlock()), frame(RST_STREAM, 0, id, cancel));
    const frames = await exchange(server.port, Buffer.concat(parts));
    expect(goAwayCode(frames)).toBe(ENHANCE_YOUR_CALM);
  });

  it("refuses a request with an upper-case header name on its stream, and answers the next stream of the connection", async () => {
    const bad = Buffer.concat([
      requestBlock(),
      Buffer.from([0x00, 3]),
      Buffer.from("X-A"),
      Buffer.from([1]),
      Buffer.from("1"),
    ]);
    const message = grpcFrame(upstream.checkRequest.encode(upstream.checkRequest.fromObject({})).finish());
    const bytes = Buffer.concat([
      frame(HEADERS, END_HEADERS | END_STREAM, 1, bad),
      frame(HEADERS, END_HEADERS, 3, requestBlock()),
      frame(DATA, END_STREAM, 3, message),
      frame(0x7, 0, 0, Buffer.alloc(8)), // our own GOAWAY: the server answers stream 3, then closes
    ]);
    const frames = await exchange(server.port, bytes);
    const reset = frames.find((f) => f.type === RST_STREAM && f.stream === 1);
    expect(reset?.payload.readUInt32BE(0)).toBe(PROTOCOL_ERROR);
    expect(frames.some((f) => f.type === DATA && f.stream === 3)).toBe(true);
  });

  it("splits an answer's header block longer than the client's 16 KiB frames into HEADERS and CONTINUATION", async () => {
    // A 30,000-byte :path of non-ASCII bytes: the UNIMPLEMENTED answer's grpc-message names it percent-encoded (90 KB).
    const path = "/" + "\u00e9".repeat(29_999);
    const length = Buffer.from([
      0x7f,
      ...[((path.length - 127) % 128) | 0x80, (((path.length - 127) >> 7) % 128) | 0x80, (path.length - 127) >> 14],
    ]);
    const pathField = Buffer.concat([Buffer.from([0x04]), length, Buffer.from(path, "latin1")]);
    const block = Buffer.concat([Buffer.from([0x83, 0x86]), pathField, requestBlock().subarray(4 + CHECK.length)]);
    const message = grpcFrame(upstream.checkRequest.encode(upstream.checkRequest.fromObject({})).finish());
    const parts = [frame(HEADERS, 0, 1, block.subarray(0, 16_000))];
    for (let at = 16_000; at < block.length; at += 16_000)
      parts.push(
        frame(CONTINUATION, at + 16_000 >= block.length ? END_HEADERS : 0, 1, block.subarray(at, at + 16_000)),
      );
    parts.push(frame(DATA, END_STREAM, 1, message), frame(GOAWAY, 0, 0, Buffer.alloc(8)));
    const frames = (await exchange(server.port, Buffer.concat(parts))).filter(
      (f) => f.stream === 1 && (f.type === HEADERS || f.type === CONTINUATION),
    );
    expect(frames.every((f) => f.payload.length <= 16_384)).toBe(true);
    expect(frames[0]?.type).toBe(HEADERS);
    expect(frames.slice(1).every((f) => f.type === CONTINUATION)).toBe(true);
    expect(frames.at(-1)!.flags & END_HEADERS).toBe(END_HEADERS);
    const grpcMessage = Buffer.concat(frames.map((f) => f.payload)).toString("latin1");
    expect(grpcMessage).toContain("%C3%A9".repeat(1000));
  });

  it("holds a large answer for a client with a 100-byte window and delivers it whole as the window opens", async () => {
    const session = connect(`http://127.0.0.1:${server.port}`, { settings: { initialWindowSize: 100 } });
    session.on("error", () => undefined);
    const message = upstream.checkRequest.encode(upstream.checkRequest.fromObject({})).finish();
    const answer = await rawGrpcCall(session, { path: CHECK, data: [grpcFrame(message)] });
    session.destroy();
    expect(answer.grpcStatus).toBe(0);
    const decoded = upstream.checkResponse.toObject(upstream.checkResponse.decode(answer.body.subarray(5))) as any;
    expect((decoded.okResponse ?? decoded.ok_response).headers).toHaveLength(40);
    expect(answer.body.length).toBeGreaterThan(40 * 1024);
    expect(checks).toBeGreaterThan(0);
  });
});
