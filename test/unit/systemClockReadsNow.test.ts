// The system clock reads the time at each call, as the Date.now() calls it replaced did: whatever
// stands in for Date.now when a reading is taken (a test's fake time, a patched global) is what
// every unit sees, not the function that was there when the module loaded.
import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock } from "../../src/clock/systemClock.ts";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("the system clock", () => {
  it("reads Date.now at each call", () => {
    vi.spyOn(Date, "now").mockReturnValue(1_234_000);
    expect(systemClock.now()).toBe(1_234_000);
  });

  it("follows fake timers installed after it was loaded", () => {
    vi.useFakeTimers({ now: Date.UTC(2030, 0, 1) });
    expect(systemClock.now()).toBe(Date.UTC(2030, 0, 1));
  });
});
