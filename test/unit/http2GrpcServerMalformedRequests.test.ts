// Requests RFC 9113 calls malformed (§8.1.1, §8.2, §8.3.1), written as raw HTTP/2 on a TCP socket, against
// the grpc-js server (the reference: node:http2's nghttp2 underneath) and both servers built here. None
// may reach the Check handler or get a message back: each is refused on its stream (RST_STREAM), by its
// connection (GOAWAY), or at the HTTP level before any call. A well-formed request written the same way
// is answered, so the harness itself is not what refuses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { startGrpcServer, type GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { OWN_GRPC_SERVERS } from "../harness/ownGrpcServers.ts";
import { grpcFrame } from "../harness/rawGrpcCall.ts";
import {
  END_HEADERS,
  END_STREAM,
  exchange,
  type Field,
  frame,
  FrameType,
  literalBlock,
} from "../harness/rawH2Exchange.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";
import { Setting } from "../../src/transport/h2Frames.ts";

const { DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, WINDOW_UPDATE } = FrameType;
const PRIORITY = 0x20;
const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const { checkRequest } = loadUpstreamExtAuthzTypes();
const MESSAGE = grpcFrame(checkRequest.encode(checkRequest.fromObject({})).finish());
const block = literalBlock;

const REQUEST: readonly Field[] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", CHECK],
  [":authority", "portcullis"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];
const without = (name: string) => REQUEST.filter(([n]) => n !== name);
const replacing = (name: string, value: string) => REQUEST.map(([n, v]) => (n === name ? [n, value] : [n, v]) as Field);
/** The request's header block, then its message with END_STREAM, on stream 1. */
const call = (fields: readonly Field[]) =>
  Buffer.concat([frame(HEADERS, END_HEADERS, 1, block(fields)), frame(DATA, END_STREAM, 1, MESSAGE)]);
/** A well-formed request whose message is followed by `trailers` (END_STREAM on them). */
const withTrailers = (trailers: readonly Field[]) =>
  Buffer.concat([
    frame(HEADERS, END_HEADERS, 1, block(REQUEST)),
    frame(DATA, 0, 1, MESSAGE),
    frame(HEADERS, END_HEADERS | END_STREAM, 1, block(trailers)),
  ]);

const MALFORMED: ReadonlyArray<readonly [string, Buffer]> = [
  ["no :scheme", call(without(":scheme"))],
  ["two :scheme", call([[":scheme", "https"], ...REQUEST])],
  ["an empty :scheme", call(replacing(":scheme", ""))],
  ["a :scheme that is not a scheme", call(replacing(":scheme", "ht tp"))],
  ["two :authority", call([[":authority", "other"], ...REQUEST])],
  ["neither :authority nor host", call(without(":authority"))],
  ["an empty :authority", call(replacing(":authority", ""))],
  ["an :authority with userinfo", call(replacing(":authority", "user@portcullis"))],
  ["an :authority with a space", call(replacing(":authority", "portcullis x"))],
  ["an :authority with trailing whitespace", call(replacing(":authority", "portcullis "))],
  ["two host fields", call([...REQUEST, ["host", "a"], ["host", "b"]])],
  ["an empty host", call([...REQUEST, ["host", ""]])],
  ["a content-type ending in CR", call(replacing("content-type", "application/grpc\r"))],
  ["a content-type starting with a tab", call(replacing("content-type", "\tapplication/grpc"))],
  ["content-length shorter than the DATA", call([...REQUEST, ["content-length", "1"]])],
  ["content-length longer than the DATA", call([...REQUEST, ["content-length", String(MESSAGE.length + 1)]])],
  ["content-length not a number", call([...REQUEST, ["content-length", "x"]])],
  [
    "two content-length fields",
    call([...REQUEST, ["content-length", String(MESSAGE.length)], ["content-length", String(MESSAGE.length)]]),
  ],
  [
    "content-length on a request that ends with its headers",
    frame(HEADERS, END_HEADERS | END_STREAM, 1, block([...REQUEST, ["content-length", "5"]])),
  ],
  ["trailers with a pseudo-header", withTrailers([[":path", "/other"]])],
  ["trailers with a connection-specific field", withTrailers([["connection", "close"]])],
  ["trailers with an upper-case name", withTrailers([["X-Trailer", "1"]])],
  ["trailers with te other than trailers", withTrailers([["te", "gzip"]])],
  ["trailers with content-length", withTrailers([["content-length", "3"]])],
  [
    "HEADERS whose priority makes the stream depend on itself",
    Buffer.concat([
      frame(HEADERS, END_HEADERS | PRIORITY, 1, Buffer.concat([Buffer.from([0, 0, 0, 1, 16]), block(REQUEST)])),
      frame(DATA, END_STREAM, 1, MESSAGE),
    ]),
  ],
  [
    "SETTINGS_INITIAL_WINDOW_SIZE that takes an open stream's window past 2^31-1",
    Buffer.concat([
      frame(HEADERS, END_HEADERS, 1, block(REQUEST)),
      frame(WINDOW_UPDATE, 0, 1, Buffer.from([0x7f, 0xff, 0x00, 0x00])),
      frame(SETTINGS, 0, 0, Buffer.from([0, 4, 0x7f, 0xff, 0xff, 0xff])),
      frame(DATA, END_STREAM, 1, MESSAGE),
    ]),
  ],
  ...[Setting.ENABLE_CONNECT_PROTOCOL, Setting.NO_RFC7540_PRIORITIES].map(
    (id) =>
      [
        `SETTINGS ${id} (a boolean setting) of 2`,
        Buffer.concat([frame(SETTINGS, 0, 0, Buffer.from([0, id, 0, 0, 0, 2])), call(REQUEST)]),
      ] as const,
  ),
];

const SERVERS = [{ name: "grpc-js (reference)", start: startGrpcServer }, ...OWN_GRPC_SERVERS];

describe.each(SERVERS)("the $name gRPC server", ({ start }) => {
  describe("and malformed requests", () => {
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

    it("answers the well-formed request written the same way", async () => {
      checks = 0;
      const frames = await exchange(server.port, call(REQUEST));
      expect(frames.some((f) => f.type === DATA && f.stream === 1)).toBe(true);
      expect(checks).toBe(1);
    });

    it.each(MALFORMED)("refuses a request with %s before the Check handler", async (_, bytes) => {
      checks = 0;
      const frames = await exchange(server.port, bytes);
      expect(frames.some((f) => f.type === DATA && f.stream === 1)).toBe(false);
      expect(checks).toBe(0);
      // Refused by HTTP/2 (RST_STREAM or GOAWAY), or at the HTTP level (a header block alone).
      expect(frames.some((f) => f.type === RST_STREAM || f.type === GOAWAY || f.type === HEADERS)).toBe(true);
    });
  });
});
