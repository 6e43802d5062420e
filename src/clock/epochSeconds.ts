// A clock's time in whole epoch seconds, the unit of JWT claims, cookie expiries and sessions.
import type { Clock } from "./Clock.ts";

export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}
