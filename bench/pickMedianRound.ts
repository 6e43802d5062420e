// With several rounds, each figure in the report is the round with the median value of that
// scenario's key figure (req/s, or p99 for the fixed rate): one real measurement, not a blend.

export function pickMedianRound<T>(values: readonly (T | null)[], key: (value: T) => number): T | null {
  const present = values.filter((v): v is T => v !== null).sort((a, b) => key(a) - key(b));
  if (present.length === 0) return null;
  // The lower median for an even count of rounds.
  return present[Math.floor((present.length - 1) / 2)]!;
}
