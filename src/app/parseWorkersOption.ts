// The value of `serve --workers N|auto` (or PORTCULLIS_WORKERS): a whole number of worker processes
// from 1 to MAX_WORKERS, or `auto` (the CPUs available to the process, cgroup aware). Anything else
// is refused with what was given, where, and what is accepted.

/** A typo like 1000 should not fork a thousand processes; 256 is far past any core count served. */
export const MAX_WORKERS = 256;

export type WorkersOption = number | "auto";

export function parseWorkersOption(value: string, source: string): { workers: WorkersOption } | { error: string } {
  const text = value.trim();
  if (text === "auto") return { workers: "auto" };
  const accepted = `a whole number from 1 to ${MAX_WORKERS}, or auto (one per CPU available)`;
  if (!/^\d+$/.test(text)) return { error: `${source} ${JSON.stringify(value)} is not ${accepted}` };
  const workers = Number(text);
  if (workers < 1 || workers > MAX_WORKERS) return { error: `${source} ${workers} is out of range: ${accepted}` };
  return { workers };
}
