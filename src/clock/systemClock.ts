// The real clock: Date.now() and Node's timers, unref'd unless the caller asks to keep the process
// alive. The default of every `clock` option in src/.
import type { Clock, ClockTimer, TimerOptions } from "./Clock.ts";

export const systemClock: Clock = {
  // Read at each call, not captured at load: whatever stands in for Date.now then (fake time in a test) is what counts.
  now: () => Date.now(),
  setTimeout: (callback, ms, options) => handle(setTimeout(callback, ms), clearTimeout, options),
  setInterval: (callback, ms, options) => handle(setInterval(callback, ms), clearInterval, options),
};

function handle(
  timer: NodeJS.Timeout,
  clear: (timer: NodeJS.Timeout) => void,
  options: TimerOptions | undefined,
): ClockTimer {
  if (options?.keepAlive !== true) timer.unref();
  return { cancel: () => clear(timer) };
}
