// A pause on a clock, for code that waits between attempts (polling a lock, a reconnect pause).
// It keeps the process alive like a plain `await setTimeout`: the wait is part of work in progress.
import type { Clock } from "./Clock.ts";

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms, { keepAlive: true }));
}
