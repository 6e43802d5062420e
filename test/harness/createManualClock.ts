// A clock that moves only when a test moves it: advance(ms) fires every timer that falls due, in
// due order (timers due at the same moment in the order they were set), each seeing now() at its
// due time. Work a callback starts over real I/O sets its next timer later; whenPending() waits for it.
import type { Clock, ClockTimer } from "../../src/clock/Clock.ts";

export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers, including those a callback sets within the window. */
  advance(ms: number): void;
  /** Timers set and not yet fired or cancelled (an interval counts once). */
  pending(): number;
  /** Resolves once at least `count` timers are pending; at once when they already are. */
  whenPending(count?: number): Promise<void>;
}

interface Scheduled {
  due: number;
  seq: number;
  readonly every: number | undefined;
  readonly callback: () => void;
}

export function createManualClock(startMs: number = Date.now()): ManualClock {
  let now = startMs;
  let seq = 0;
  const timers = new Set<Scheduled>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];

  function add(callback: () => void, ms: number, every: number | undefined): ClockTimer {
    const timer: Scheduled = { due: now + Math.max(0, ms), seq: seq++, every, callback };
    timers.add(timer);
    for (const waiter of waiters.splice(0)) {
      if (timers.size >= waiter.count) waiter.resolve();
      else waiters.push(waiter);
    }
    return { cancel: () => void timers.delete(timer) };
  }

  function nextDue(until: number): Scheduled | undefined {
    let next: Scheduled | undefined;
    for (const timer of timers) {
      if (timer.due > until) continue;
      if (next === undefined || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq)) next = timer;
    }
    return next;
  }

  return {
    now: () => now,
    setTimeout: (callback, ms) => add(callback, ms, undefined),
    // At least 1 ms apart: an interval of 0 would fire forever within one advance().
    setInterval: (callback, ms) => add(callback, Math.max(1, ms), Math.max(1, ms)),
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError("advance() takes a non-negative number of milliseconds");
      const until = now + ms;
      for (let timer = nextDue(until); timer !== undefined; timer = nextDue(until)) {
        now = timer.due;
        if (timer.every === undefined) timers.delete(timer);
        else {
          timer.due += timer.every;
          timer.seq = seq++;
        }
        timer.callback();
      }
      now = until;
    },
    pending: () => timers.size,
    whenPending(count = 1) {
      if (timers.size >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}
