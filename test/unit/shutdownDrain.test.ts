// The drain before shutdown: its config key (shutdown.drainSeconds: default, bounds, key path in
// every error) and the drain period itself (ends by time, or at once when cut short).
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { startDrainPeriod } from "../../src/app/startDrainPeriod.ts";

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
  it("is over once its time has passed", async () => {
    const t0 = Date.now();
    const period = startDrainPeriod(150);
    await period.over;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(period.cutShort).toBe(false);
  });

  it("ends at once when cut short, and a later end() changes nothing", async () => {
    const t0 = Date.now();
    const period = startDrainPeriod(60_000);
    setTimeout(() => period.end(), 20);
    await period.over;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(period.cutShort).toBe(true);
    period.end();
    expect(period.cutShort).toBe(true);
  });

  it("does not count as cut short when end() comes after the time is up", async () => {
    const period = startDrainPeriod(10);
    await period.over;
    period.end();
    expect(period.cutShort).toBe(false);
  });
});
