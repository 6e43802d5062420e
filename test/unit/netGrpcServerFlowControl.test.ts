// The node:net gRPC server's send-side flow control under a peer that meters its windows a byte at a
// time: 999 answers wait on a zero stream window, then 1-byte WINDOW_UPDATEs arrive by the tens of
// thousands, for the connection and for one stream. Each must cost the server a constant amount of
// work, not a walk of every waiting answer (which made 13-byte frames cost ~10 µs each), and the
// answer the window was given for still arrives.
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
const [DATA, HEADERS, SETTINGS, PING, WINDOW_UPDATE] = [0x0, 0x1, 0x4, 0x6, 0x8];
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const STREAMS = 999;
const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const { checkRequest } = loadUpstreamExtAuthzTypes();

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

function requestBlock(): Buffer {
  const fields = [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", CHECK],
    [":authority", "portcullis"],
    ["content-type", "application/grpc"],
  ];
  return Buffer.concat(
    fields.map(([name, value]) =>
      Buffer.concat([
        Buffer.from([0, name!.length]),
        Buffer.from(name!),
        Buffer.from([value!.length]),
        Buffer.from(value!),
      ]),
    ),
  );
}

/** A raw client that counts what it is sent, frame by frame. */
class Peer {
  readonly socket: Socket;
  headers = 0;
  dataBytes = 0;
  pingAcks = 0;
  #pending = Buffer.alloc(0);
  #waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = connectTcp(port, "127.0.0.1");
    this.socket.on("error", () => undefined);
    this.socket.on("data", (chunk: Buffer) => {
      let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
      while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
        const length = buf.readUIntBE(0, 3);
        if (buf[3] === HEADERS) this.headers += 1;
        if (buf[3] === DATA) this.dataBytes += length;
        if (buf[3] === PING && buf[4]! & ACK) this.pingAcks += 1;
        buf = buf.subarray(9 + length);
      }
      this.#pending = Buffer.from(buf);
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

describe("the node:net gRPC server's flow control", () => {
  let server: GrpcServer;
  beforeAll(async () => {
    const gate = {
      decide: async (): Promise<Decision> => ({
        kind: "allow",
        route: "r",
        reason: "public",
        setHeaders: [["x-answer", "a".repeat(200)]],
        removeHeaders: [],
      }),
    };
    server = await startNetGrpcServer({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers(gate, { checked() {} }),
      health: createHealthHandlers(new HealthState()),
    });
  });
  afterAll(() => server.shutdown(1000));

  it("spends constant work per 1-byte WINDOW_UPDATE while 999 answers wait on their streams' windows", async () => {
    const peer = new Peer(server.port);
    const message = grpcFrame(checkRequest.encode(checkRequest.fromObject({})).finish());
    const requests: Buffer[] = [];
    for (let i = 0; i < STREAMS; i++)
      requests.push(
        frame(HEADERS, END_HEADERS, 2 * i + 1, requestBlock()),
        frame(DATA, END_STREAM, 2 * i + 1, message),
      );
    // SETTINGS_INITIAL_WINDOW_SIZE 0: every answer's headers go out, its message waits.
    const noWindow = frame(SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0, 0, 0]));
    peer.socket.write(Buffer.concat([PREFACE, noWindow, ...requests]));
    await peer.until(() => peer.headers === STREAMS);
    expect(peer.dataBytes).toBe(0);

    const one = Buffer.from([0, 0, 0, 1]);
    const updates: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) updates.push(frame(WINDOW_UPDATE, 0, 0, one), frame(WINDOW_UPDATE, 0, 1, one));
    const before = process.cpuUsage();
    peer.socket.write(Buffer.concat([...updates, frame(PING, 0, 0, Buffer.alloc(8))]));
    await peer.until(() => peer.pingAcks === 1);
    const cpu = process.cpuUsage(before);
    peer.socket.destroy();
    // Stream 1 was given 20,000 bytes of window, more than its answer: that answer went out whole.
    expect(peer.dataBytes).toBeGreaterThan(200);
    // Walking the 999 waiting answers per frame took 400-540 ms of this process's CPU here; constant
    // work takes about 15 ms. The bound leaves a wide margin for a slow or busy machine (process CPU
    // time, not wall time, so other processes' load counts little).
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(250);
  });
});
