// The drain before shutdown: its config key (shutdown.drainSeconds: default, bounds, key path in
// every error) and the drain period itself (ends by time, or at once when cut short).
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { startDrainPeriod } from "../../src/app/startDrainPeriod.ts";
import { createManualClock } from "../harness/createManualClock.ts";

const withShutdown = (shutdown?: unknown) =>
  parseConfig({
    routes: [{ name: "all", match: { path: "/" }, auth: "public" }],
    ...(shutdown === undefined ? {} : { shutdown }),
  });

describe("shutdown.drainSeconds", () => {
  it("defaults to 5 seconds, long enough for health checks every second to see NOT_SERVING", () => {
    const result = withShutdown();
    expect(result.ok && result.config.shutdown).toEqual({ graceSeconds: 10, drainSeconds: 5 });
  });

  it("accepts 0 (no drain) next to a grace period", () => {
    const result = withShutdown({ drainSeconds: 0, graceSeconds: 2 });
    expect(result.ok && result.config.shutdown).toEqual({ graceSeconds: 2, drainSeconds: 0 });
  });

  it.each([
    [-1, "shutdown.drainSeconds: must be 0..300 (got -1)"],
    [301, "shutdown.drainSeconds: must be 0..300 (got 301)"],
    [2.5, "shutdown.drainSeconds: must be an integer (got 2.5)"],
    ["5", 'shutdown.drainSeconds: must be an integer (got "5")'],
  ])("rejects %j, naming the key", (value, message) => {
    const result = withShutdown({ drainSeconds: value });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.map(formatIssue)).toEqual([message]);
  });
});

describe("startDrainPeriod", () => {
  /** Lets promise continuations queued so far run (no time passes on any clock). */
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it("is over once its time has passed, and not before", async () => {
    const clock = createManualClock();
    const period = startDrainPeriod(150, clock);
    let over = false;
    void period.over.then(() => (over = true));
    clock.advance(149);
    await flush();
    expect(over).toBe(false);
    clock.advance(1);
    await period.over;
    expect(period.cutShort).toBe(false);
  });

  it("ends at once when cut short, and a later end() changes nothing", async () => {
    const clock = createManualClock();
    const period = startDrainPeriod(60_000, clock);
    clock.advance(20);
    period.end();
    await period.over;
    expect(clock.pending()).toBe(0); // the period's timer is gone, not merely outrun
    expect(period.cutShort).toBe(true);
    period.end();
    expect(period.cutShort).toBe(true);
  });

  it("does not count as cut short when end() comes after the time is up", async () => {
    const clock = createManualClock();
    const period = startDrainPeriod(10, clock);
    clock.advance(10);
    await period.over;
    period.end();
    expect(period.cutShort).toBe(false);
  });

  it("keeps the process alive until it is over, as the listeners' drain needs", async () => {
    const clock = createManualClock();
    const kept: boolean[] = [];
    const keepAliveClock = {
      ...clock,
      setTimeout: (callback: () => void, ms: number, options?: { keepAlive?: boolean }) => {
        kept.push(options?.keepAlive === true);
        return clock.setTimeout(callback, ms);
      },
    };
    startDrainPeriod(1_000, keepAliveClock).end();
    expect(kept).toEqual([true]);
  });
});
