// One connection of the node:net server fed a frame a byte per read, as a peer that trickles its bytes
// in tiny TCP segments would: the frame's bytes are joined once when it is whole, not copied again on
// every read (16 KiB frames cost 16,384 copies of up to 16 KiB each, ~130 MB per frame, that way).
// The connection is the real one over a stand-in socket, so each read is a direct call.
import type { Socket } from "node:net";
import { describe, expect, it, vi } from "vitest";
import { DeadlineSweeper } from "../../src/transport/DeadlineSweeper.ts";
import { NetH2Connection } from "../../src/transport/NetH2Connection.ts";
import { RequestByteBudget } from "../../src/transport/RequestByteBudget.ts";
import { frame, FrameType, PREFACE } from "../harness/rawH2Exchange.ts";

const PING = 0x6;
const ACK = 0x1;

/** The socket calls a connection makes, recording what it writes and handing out its 'data' listener. */
function standInSocket() {
  const written: Buffer[] = [];
  let onData: (chunk: Buffer) => void = () => undefined;
  const socket = {
    writableLength: 0,
    setNoDelay() {},
    pause() {},
    resume() {},
    end() {},
    destroy() {},
    write(bytes: Buffer) {
      written.push(bytes);
      return true;
    },
    on(event: string, listener: (chunk: Buffer) => void) {
      if (event === "data") onData = listener;
      return socket;
    },
  };
  return { socket: socket as unknown as Socket, written, read: (chunk: Buffer) => onData(chunk) };
}

describe("a node:net HTTP/2 connection fed a byte per read", () => {
  it("reads 64 KiB of 16 KiB frames a byte at a time copying each byte about once, and answers the PING after them", async () => {
    const { socket, written, read } = standInSocket();
    const options = {
      methods: new Map(),
      maxBytes: 1024 * 1024,
      deadlines: new DeadlineSweeper(),
      budget: new RequestByteBudget(),
      keepaliveTimeMs: 60_000,
      keepaliveTimeoutMs: 20_000,
    };
    const connection = new NetH2Connection(socket, options, () => undefined);
    read(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0))]));
    // Frames of an unknown type (ignored, RFC 9113 §4.1), at the 16 KiB frame size limit.
    const frames = Buffer.concat(Array.from({ length: 4 }, () => frame(0xfa, 0, 0, Buffer.alloc(16_384))));
    const bytes = Buffer.concat([frames, frame(PING, 0, 0, Buffer.from("trickled"))]);
    // What the connection joins while reading, counted in bytes (a count, not a time: the same on any machine).
    const join = Buffer.concat;
    let joined = 0;
    const spy = vi.spyOn(Buffer, "concat").mockImplementation((list, totalLength) => {
      const out = join.call(Buffer, list, totalLength);
      joined += out.length;
      return out;
    });
    try {
      for (let at = 0; at < bytes.length; at++) read(bytes.subarray(at, at + 1));
    } finally {
      spy.mockRestore();
    }
    await new Promise((resolve) => setImmediate(resolve));
    connection.destroy();
    const out = Buffer.concat(written);
    const ack = Buffer.concat([frame(PING, ACK, 0, Buffer.from("trickled"))]);
    expect(out.includes(ack)).toBe(true);
    // Joining on every read copied ~540 MB (quadratic in the frame size); joining each frame once copies
    // each byte about once.
    expect(joined).toBeLessThan(4 * bytes.length);
  });
});
