// What the pipeline reads the time from and sets its timers on: the system's in production
// (systemClock), a manual one in tests (test/harness/createManualClock.ts), so no test sleeps to see a
// retry, a refresh, a debounce or a drain period run out. Outbound call timeouts stay real time.

export interface Clock {
  /** Wall-clock time in epoch milliseconds, as Date.now() answers it. */
  now(): number;
  /** Calls `callback` once, `ms` from now. */
  setTimeout(callback: () => void, ms: number, options?: TimerOptions): ClockTimer;
  /** Calls `callback` every `ms` until cancelled. */
  setInterval(callback: () => void, ms: number, options?: TimerOptions): ClockTimer;
}

export interface TimerOptions {
  /**
   * Hold the process open until the timer fires, as Node's own timers do. Default false: background
   * work (retries, refreshes, probes) never keeps a process from exiting.
   */
  readonly keepAlive?: boolean;
}

export interface ClockTimer {
  /** Stops the timer; a no-op once a one-shot timer has fired or the timer was cancelled. */
  cancel(): void;
}
