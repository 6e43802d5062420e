// The manual clock every timing test relies on (fires due timers in order, deterministically) and
// the system clock's promise that background timers never keep a process alive.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { sleep } from "../../src/clock/sleep.ts";
import { createManualClock } from "../harness/createManualClock.ts";

describe("the manual clock", () => {
  it("reads the start time until advanced, then the time advanced to", () => {
    const clock = createManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it("fires due timers in due order, same-time timers in the order set, each at its own due time", () => {
    const clock = createManualClock(0);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(["c", clock.now()]), 30);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["b", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["late", clock.now()]), 31);
    clock.advance(30);
    expect(fired).toEqual([
      ["a", 10],
      ["b", 10],
      ["c", 30],
    ]);
    expect(clock.pending()).toBe(1);
  });

  it("fires a timer a callback sets when it falls due within the same advance, and not one beyond it", () => {
    const clock = createManualClock(0);
    const fired: number[] = [];
    const retry = () => {
      fired.push(clock.now());
      clock.setTimeout(retry, 40);
    };
    clock.setTimeout(retry, 40);
    clock.advance(100);
    expect(fired).toEqual([40, 80]);
    expect(clock.pending()).toBe(1);
  });

  it("repeats an interval until cancelled and never fires a cancelled timer", () => {
    const clock = createManualClock(0);
    const ticks: number[] = [];
    const interval = clock.setInterval(() => ticks.push(clock.now()), 25);
    let cancelledFired = false;
    clock.setTimeout(() => (cancelledFired = true), 10).cancel();
    clock.advance(100);
    expect(ticks).toEqual([25, 50, 75, 100]);
    interval.cancel();
    clock.advance(100);
    expect(ticks).toHaveLength(4);
    expect(cancelledFired).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it("lets a test wait for a timer that work over I/O sets later", async () => {
    const clock = createManualClock(0);
    const waiting = clock.whenPending(2);
    clock.setTimeout(() => undefined, 5);
    let resolved = false;
    void waiting.then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    queueMicrotask(() => clock.setTimeout(() => undefined, 5));
    await waiting;
    expect(clock.pending()).toBe(2);
  });

  it("resolves a sleep on the clock only when the clock reaches its end", async () => {
    const clock = createManualClock(0);
    let woke = false;
    const slept = sleep(clock, 100).then(() => (woke = true));
    clock.advance(99);
    await Promise.resolve();
    expect(woke).toBe(false);
    clock.advance(1);
    await slept;
    expect(woke).toBe(true);
  });
});

describe("the system clock", () => {
  it("lets a process exit with a background timer pending, and holds it open for a keep-alive one", async () => {
    const clockUrl = new URL("../../src/clock/systemClock.ts", import.meta.url).href;
    const run = async (keepAlive: boolean): Promise<string> => {
      const script = `
        const { systemClock } = await import(${JSON.stringify(clockUrl)});
        systemClock.setTimeout(() => console.log("fired"), ${keepAlive ? 50 : 60_000}, { keepAlive: ${keepAlive} });
        systemClock.setInterval(() => console.log("ticked"), 60_000);
      `;
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(code).toBe(0);
      return stdout.trim();
    };
    // Were the 60 s timers holding the process, the test would time out rather than pass.
    expect(await run(false)).toBe("");
    expect(await run(true)).toBe("fired");
  });
});
