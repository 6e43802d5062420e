// The test harness's reserved ports: drawn where nothing else is handed them, and never a port that
// Node's fetch (and Chromium) refuse to connect to, or the service behind it could not be reached.
import { describe, expect, it } from "vitest";
import { drawPort, FETCH_BAD_PORTS, reservePort } from "../harness/reservePort.ts";

describe("reservePort", () => {
  it("lists ports Node's fetch refuses as bad ports", async () => {
    for (const port of FETCH_BAD_PORTS)
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ cause: { message: "bad port" } });
  });

  it("never draws a bad port, drawing again instead", () => {
    const draws = [10080, 10080, 12345];
    expect(drawPort(40_000, () => draws.shift() as number)).toBe(12345);
    expect(draws).toEqual([]);
  });

  it("holds a port below the ephemeral range that answers by resetting the connection", async () => {
    const reserved = await reservePort();
    try {
      expect(reserved.port).toBeGreaterThanOrEqual(10_000);
      expect(FETCH_BAD_PORTS.has(reserved.port)).toBe(false);
      await expect(fetch(`http://127.0.0.1:${reserved.port}/`)).rejects.toThrow();
    } finally {
      await reserved.release();
    }
  });
});
