// The seed of a property test that collects every failing case instead of stopping at the first
// (the differential tests through Envoy do, to show each class of bypass in one run), so fast-check
// prints no seed of its own: the test prints this one, and PORTCULLIS_PROPERTY_SEED replays it.

export const PROPERTY_SEED_VARIABLE = "PORTCULLIS_PROPERTY_SEED";

export function propertySeed(): number {
  const raw = process.env[PROPERTY_SEED_VARIABLE];
  if (raw === undefined || raw.trim() === "") return Date.now() % 2 ** 31;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`${PROPERTY_SEED_VARIABLE} must be an integer (got "${raw}")`);
  return seed;
}
