// A `time` condition compiled once: the window's zone formatter is built at load, and each test reads
// the injected clock and asks Intl for the local weekday and time in that zone (wall-clock time, so a
// window keeps its local hours across DST). A window crossing midnight belongs to the day it opens.
import type { Clock } from "../clock/Clock.ts";
import { WEEKDAYS, type TimeWindow } from "../config/timeWindowSchema.ts";

const WEEKDAY_OF: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function minutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** True while the clock's time is inside the window. */
export function compileTimeWindow(window: TimeWindow, clock: Clock): () => boolean {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: window.timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const open = WEEKDAYS.map((day) => window.days.includes(day));
  const from = window.from === null ? 0 : minutes(window.from);
  const to = window.to === null ? 24 * 60 : minutes(window.to);
  return () => {
    let day = -1;
    let hour = Number.NaN;
    let minute = Number.NaN;
    for (const part of format.formatToParts(clock.now())) {
      if (part.type === "weekday") day = WEEKDAY_OF[part.value] ?? -1;
      else if (part.type === "hour") hour = Number(part.value);
      else if (part.type === "minute") minute = Number(part.value);
    }
    const now = hour * 60 + minute;
    // Anything Intl answers that is not a weekday and a time fails the condition (fail closed).
    if (day < 0 || !(now >= 0 && now < 24 * 60)) return false;
    if (from < to) return open[day] === true && now >= from && now < to;
    // Crossing midnight: the evening of an open day, or the morning after one.
    return (open[day] === true && now >= from) || (open[(day + 6) % 7] === true && now < to);
  };
}
