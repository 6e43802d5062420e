// The node:http2 gRPC server under bytes no HTTP/2 client library would send, written on a raw TCP
// socket: a frame that is not HTTP/2, a request without :path, a DATA frame on a stream never opened.
// Each must end that connection or stream with an HTTP/2 error, never crash the server or reach the
// Check handler, and the next connection is answered as usual.
import { connect as connectTcp, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import type { GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { OWN_GRPC_SERVERS } from "../harness/ownGrpcServers.ts";
import { grpcFrame, openRawSession, rawGrpcCall } from "../harness/rawGrpcCall.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const HEADERS = 0x1;
const DATA = 0x0;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const RST_STREAM = 0x3;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK literal header field without indexing, with a literal name (no Huffman). */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x00, name.length]),
    Buffer.from(name),
    Buffer.from([value.length]),
    Buffer.from(value),
  ]);
}

/** Sends the preface, an empty SETTINGS and `bytes`; resolves with the frame types the server sent until it closed or went quiet. */
function exchange(port: number, bytes: Buffer): Promise<number[]> {
  return new Promise((resolve) => {
    const socket: Socket = connectTcp(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const types = (): number[] => {
      const seen: number[] = [];
      for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) seen.push(received[at + 3]!);
      return seen;
    };
    const done = () => {
      socket.destroy();
      resolve(types());
    };
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const seen = types();
      if (seen.includes(GOAWAY) || seen.includes(RST_STREAM)) done();
    });
    socket.on("error", done);
    socket.on("close", done);
    socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), bytes]));
  });
}

describe.each(OWN_GRPC_SERVERS)("the $name gRPC server", ({ start }) => {
  describe("and malformed HTTP/2", () => {
    let checks = 0;
    let server: GrpcServer;
    beforeAll(async () => {
      const gate = {
        decide: async (): Promise<Decision> => {
          checks += 1;
          return { kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] };
        },
      };
      server = await start({
        host: "127.0.0.1",
        port: 0,
        authorization: createExtAuthzHandlers(gate, { checked() {} }),
        health: createHealthHandlers(new HealthState()),
      });
    });
    afterAll(() => server.shutdown(1000));

    it("answers a frame of an unknown layout on stream 0 with GOAWAY", async () => {
      // A SETTINGS frame whose length is not a multiple of 6 is a connection error (FRAME_SIZE_ERROR).
      expect(await exchange(server.port, frame(SETTINGS, 0, 0, Buffer.alloc(5)))).toContain(GOAWAY);
    });

    it("refuses a request without :path before any handler sees it", async () => {
      const block = Buffer.concat([
        Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table)
        literal(":authority", "x"),
        literal("content-type", "application/grpc"),
      ]);
      const types = await exchange(server.port, frame(HEADERS, END_HEADERS | END_STREAM, 1, block));
      expect(types.some((type) => type === RST_STREAM || type === GOAWAY)).toBe(true);
      expect(checks).toBe(0);
    });

    it("answers DATA on a stream that was never opened with GOAWAY", async () => {
      const data = frame(DATA, END_STREAM, 3, grpcFrame(Buffer.alloc(3)));
      expect(await exchange(server.port, data)).toContain(GOAWAY);
      expect(checks).toBe(0);
    });

    it("past the grace period, ends a connection whose peer never closes its side, so shutdown resolves", async () => {
      const other = await start({
        host: "127.0.0.1",
        port: 0,
        authorization: createExtAuthzHandlers(
          { decide: () => new Promise<Decision>(() => undefined) },
          { checked() {} },
        ),
        health: createHealthHandlers(new HealthState()),
      });
      // allowHalfOpen: the server's FIN is read but this side is never ended, as a stuck peer would.
      const socket = connectTcp({ port: other.port, host: "127.0.0.1", allowHalfOpen: true });
      socket.on("error", () => undefined);
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0))]));
      await new Promise<void>((resolve) => socket.once("data", () => resolve()));
      try {
        await other.shutdown(100);
      } finally {
        socket.destroy();
      }
    });

    it("still answers a well-formed Check on a new connection afterwards", async () => {
      const session = openRawSession(server.port);
      try {
        const { checkRequest } = loadUpstreamExtAuthzTypes();
        const http = { id: "1", method: "GET", host: "h", path: "/", scheme: "https" };
        const bytes = checkRequest.encode(checkRequest.fromObject({ attributes: { request: { http } } })).finish();
        const answer = await rawGrpcCall(session, {
          path: "/envoy.service.auth.v3.Authorization/Check",
          data: [grpcFrame(bytes)],
        });
        expect(answer.grpcStatus).toBe(0);
        expect(checks).toBe(1);
      } finally {
        session.close();
      }
    });
  });
});
