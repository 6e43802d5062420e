// How many cases each property test runs. CI runs the file's default (thousands, a few seconds per
// file); bin/fuzz sets PORTCULLIS_PROPERTY_RUNS for a long run (a million) without editing tests.
// Properties that send every case through real Envoy cost a network round trip per case (a few
// hundred a second), so they read PORTCULLIS_ENVOY_PROPERTY_RUNS first: a long run stays minutes.

export const PROPERTY_RUNS_VARIABLE = "PORTCULLIS_PROPERTY_RUNS";
export const ENVOY_PROPERTY_RUNS_VARIABLE = "PORTCULLIS_ENVOY_PROPERTY_RUNS";

function runsFrom(variable: string): number | undefined {
  const raw = process.env[variable];
  if (raw === undefined || raw.trim() === "") return undefined;
  const runs = Number(raw);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`${variable} must be a positive integer (got "${raw}")`);
  }
  return runs;
}

/** Cases of an in-process property: PORTCULLIS_PROPERTY_RUNS, else `defaultRuns`. */
export function propertyRuns(defaultRuns: number): number {
  return runsFrom(PROPERTY_RUNS_VARIABLE) ?? defaultRuns;
}

/** Cases of a property sent through real Envoy: PORTCULLIS_ENVOY_PROPERTY_RUNS, else PORTCULLIS_PROPERTY_RUNS, else `defaultRuns`. */
export function envoyPropertyRuns(defaultRuns: number): number {
  return runsFrom(ENVOY_PROPERTY_RUNS_VARIABLE) ?? propertyRuns(defaultRuns);
}
