// `match.time` (and `require.request.time`): a weekly time window in one IANA time zone, parsed and
// checked once (the zone through Intl, so a zone this Node does not know is a config error, never a
// window that silently never holds). Compiled by core/compileTimeWindow.ts.
import type { CustomNode, CustomReport, CustomResult } from "./configSchema.ts";

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Days the window opens on, `from` ≤ local time < `to` ("HH:MM"); `to` before `from` ends the next day. */
export interface TimeWindow {
  readonly days: readonly Weekday[];
  /** null (with `to` null): the whole of each day. */
  readonly from: string | null;
  readonly to: string | null;
  readonly timeZone: string;
}

const HH_MM = /^(?:[01][0-9]|2[0-3]):[0-5][0-9]$/;
const KEYS = ["days", "from", "to", "timeZone"];

/** Whether Intl knows the zone (it throws a RangeError for one it does not). */
function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function parseDays(value: unknown, path: string, report: CustomReport): Weekday[] | null {
  if (value === undefined) return [...WEEKDAYS];
  if (!Array.isArray(value)) {
    report(path, `must be a list of days (${WEEKDAYS.join(", ")})`, { value });
    return null;
  }
  if (value.length === 0) {
    report(
      path,
      "names no day, so the window would never open: list at least one day, or leave `days` out for every day",
    );
    return null;
  }
  let ok = true;
  value.forEach((day, i) => {
    if (typeof day !== "string" || !(WEEKDAYS as readonly string[]).includes(day)) {
      report(`${path}[${i}]`, `must be one of ${WEEKDAYS.join(", ")}`, { value: day });
      ok = false;
    } else if (value.indexOf(day) !== i) {
      report(`${path}[${i}]`, "is listed twice", { value: day });
      ok = false;
    }
  });
  return ok ? (value as Weekday[]) : null;
}

function parseClock(entry: Record<string, unknown>, key: "from" | "to", path: string, report: CustomReport) {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !HH_MM.test(value)) {
    report(`${path}.${key}`, 'must be a 24-hour local time "HH:MM", e.g. "09:00"', { value });
    return null;
  }
  return value;
}

export function parseTimeWindow(value: unknown, path: string, report: CustomReport): CustomResult<TimeWindow | null> {
  if (value === null) return { ok: true, value: null };
  if (typeof value !== "object" || Array.isArray(value)) {
    report(
      path,
      'must be an object {days, from, to, timeZone}, e.g. {days: [mon, fri], from: "09:00", to: "18:00", timeZone: Europe/Berlin}',
      { value },
    );
    return { ok: false };
  }
  const entry = value as Record<string, unknown>;
  let ok = true;
  for (const key of Object.keys(entry))
    if (!KEYS.includes(key)) {
      report(`${path}.${key}`, `is not a known key: use ${KEYS.join(", ")}`);
      ok = false;
    }
  const days = parseDays(entry["days"], `${path}.days`, report);
  const from = parseClock(entry, "from", path, report);
  const to = parseClock(entry, "to", path, report);
  if ((from === undefined) !== (to === undefined)) {
    report(path, "needs both `from` and `to`, or neither (the whole day)");
    ok = false;
  } else if (typeof from === "string" && from === to) {
    report(
      `${path}.to`,
      `is the same time as from (${from}): the window would be empty; leave both out for the whole day`,
    );
    ok = false;
  }
  const zone = entry["timeZone"];
  if (typeof zone !== "string" || !knownTimeZone(zone)) {
    report(`${path}.timeZone`, "must be an IANA time zone this Node knows, e.g. Europe/Berlin or UTC", { value: zone });
    ok = false;
  }
  if (!ok || days === null || from === null || to === null) return { ok: false };
  return { ok: true, value: { days, from: from ?? null, to: to ?? null, timeZone: zone as string } };
}

export const timeWindowNode = {
  kind: "custom",
  typeOptional: true,
  typeLabel: "`{days, from, to, timeZone}` or null",
  default: null,
  parse: parseTimeWindow,
  jsonSchema: {
    type: ["object", "null"],
    additionalProperties: false,
    required: ["timeZone"],
    properties: {
      days: { type: "array", minItems: 1, uniqueItems: true, items: { enum: [...WEEKDAYS] } },
      from: { type: "string", pattern: HH_MM.source },
      to: { type: "string", pattern: HH_MM.source },
      timeZone: { type: "string", minLength: 1 },
    },
    // Both of from and to, or neither (check-config says which is missing).
    anyOf: [{ required: ["from", "to"] }, { not: { anyOf: [{ required: ["from"] }, { required: ["to"] }] } }],
  },
  description:
    'A weekly window the request\'s time must fall in (the injected clock, read in `timeZone`, an IANA zone checked at start): on one of `days` (`sun`..`sat`; missing = every day), from `from` up to before `to` (local `"HH:MM"`; both missing = the whole day). A `to` earlier than `from` crosses midnight and ends on the next day (`{days: [fri], from: "22:00", to: "06:00"}` holds until Saturday 06:00). Local wall-clock time: across a DST change a window keeps its local hours (an hour skipped in spring never occurs, an hour repeated in autumn holds twice). Example: `{days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00", timeZone: Europe/Berlin}`.',
} as const satisfies CustomNode<TimeWindow | null>;
