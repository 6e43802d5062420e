// How many cases each property test runs. CI runs the file's default (thousands, a few seconds per
// file); bin/fuzz sets PORTCULLIS_PROPERTY_RUNS for a long run (a million) without editing tests.

export const PROPERTY_RUNS_VARIABLE = "PORTCULLIS_PROPERTY_RUNS";

export function propertyRuns(defaultRuns: number): number {
  const raw = process.env[PROPERTY_RUNS_VARIABLE];
  if (raw === undefined || raw.trim() === "") return defaultRuns;
  const runs = Number(raw);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`${PROPERTY_RUNS_VARIABLE} must be a positive integer (got "${raw}")`);
  }
  return runs;
}
