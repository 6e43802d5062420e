// gRPC message frames: a message kept with keptFramed is framed once and that frame is handed out for
// every answer, byte for byte what framing a fresh copy gives; other messages are framed anew.
import { describe, expect, it } from "vitest";
import { frameMessage, keptFramed } from "../../src/transport/grpcWire.ts";

describe("gRPC message frames", () => {
  it("frame a kept message once, with the same bytes as a fresh frame of it", () => {
    const message = Buffer.from("a CheckResponse's bytes");
    const kept = keptFramed(message);
    expect(kept.equals(message)).toBe(true);
    expect(kept.buffer).not.toBe(message.buffer);
    const framed = frameMessage(kept);
    expect(frameMessage(kept)).toBe(framed);
    expect(framed.equals(frameMessage(Buffer.from(message)))).toBe(true);
    expect([...framed.subarray(0, 5)]).toEqual([0, 0, 0, 0, message.length]);
  });

  it("frame any other message anew each time", () => {
    const message = Buffer.from([1, 2, 3]);
    const first = frameMessage(message);
    expect(frameMessage(message)).not.toBe(first);
    expect([...first]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
  });
});
