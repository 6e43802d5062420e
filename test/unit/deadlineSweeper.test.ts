// The shared deadline timer of the node:http2 gRPC server: a call expires once its time has passed,
// never before, a call that left is never expired, and the timer stops when no call is in flight.
import { describe, expect, it } from "vitest";
import { DeadlineSweeper, RESOLUTION_MS } from "../../src/transport/DeadlineSweeper.ts";

function call(inMs: number) {
  const entry = {
    deadlineAt: performance.now() + inMs,
    expiredAt: undefined as number | undefined,
    expire() {
      entry.expiredAt = performance.now();
    },
  };
  return entry;
}

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 1));
};

describe("DeadlineSweeper", () => {
  it("expires each call once its deadline has passed, never before it", async () => {
    const sweeper = new DeadlineSweeper();
    const soon = call(1);
    const later = call(4 * RESOLUTION_MS);
    sweeper.add(soon);
    sweeper.add(later);
    await until(() => soon.expiredAt !== undefined);
    expect(later.expiredAt).toBeUndefined();
    await until(() => later.expiredAt !== undefined);
    expect(soon.expiredAt!).toBeGreaterThanOrEqual(soon.deadlineAt);
    expect(later.expiredAt!).toBeGreaterThanOrEqual(later.deadlineAt);
  });

  it("never expires a call that finished first, and sweeps again for calls added after it went idle", async () => {
    const sweeper = new DeadlineSweeper();
    const finished = call(1);
    sweeper.add(finished);
    sweeper.delete(finished);
    const first = call(1);
    sweeper.add(first);
    await until(() => first.expiredAt !== undefined);
    // Idle once a sweep finds nothing in flight; a new call re-arms the same timer.
    await until(() => !sweeper.armed);
    const second = call(1);
    sweeper.add(second);
    await until(() => second.expiredAt !== undefined);
    expect(finished.expiredAt).toBeUndefined();
  });
});
