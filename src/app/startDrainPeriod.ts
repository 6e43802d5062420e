// The drain period between SIGTERM and closing the listeners: a timer that can be cut short (a
// second signal). It keeps the process alive on purpose: the listeners are still answering while
// load balancers notice NOT_SERVING and move traffic away.
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";

export interface DrainPeriod {
  /** Resolves when the period is over, by time or by end(). */
  readonly over: Promise<void>;
  /** Whether end() cut the period short. */
  readonly cutShort: boolean;
  /** Ends the period now; a no-op once it is over. */
  end(): void;
}

export function startDrainPeriod(ms: number, clock: Clock = systemClock): DrainPeriod {
  let finish!: () => void;
  let cutShort = false;
  let done = false;
  const over = new Promise<void>((resolve) => (finish = resolve));
  const timer = clock.setTimeout(
    () => {
      done = true;
      finish();
    },
    ms,
    { keepAlive: true },
  );
  return {
    over,
    get cutShort() {
      return cutShort;
    },
    end() {
      if (done) return;
      done = true;
      cutShort = true;
      timer.cancel();
      finish();
    },
  };
}
