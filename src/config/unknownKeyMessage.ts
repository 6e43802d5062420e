// The message for a key the schema does not know: the allowed key it is most likely a typo of
// (`mach` → `match`), when one is close enough, then the full list. Only the schema's own key
// names are quoted, never a value the user wrote, so nothing secret can reach the message.

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`; letter case is ignored. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  // rows[i][j]: distance between the first i characters of s and the first j of t.
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= t.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= s.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (rows[s.length] as number[])[t.length] as number;
}

/**
 * The allowed key `key` is most likely a misspelling of, or null when none is close: at most one
 * edit for a short key, two from six characters on, three from eleven (so `url` never suggests
 * `enabled`). On a tie the key listed first wins.
 */
export function closestKey(key: string, allowed: readonly string[]): string | null {
  const limit = key.length < 6 ? 1 : key.length < 11 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const candidate of allowed) {
    // The distance is at least the difference in length: a key much longer (or shorter) than the
    // candidate is never within the limit, and is not compared letter by letter (a 1 MiB key would
    // take seconds and hundreds of MB, in check-config or a serving process's reload).
    if (Math.abs(key.length - candidate.length) > limit) continue;
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `unknown key; did you mean "match"? (allowed: …)`, or `unknown key (allowed: …)` when nothing is close. */
export function unknownKeyMessage(key: string, allowed: readonly string[], allowedText = allowed.join(", ")): string {
  const suggestion = closestKey(key, allowed);
  return suggestion === null
    ? `unknown key (allowed: ${allowedText})`
    : `unknown key; did you mean ${JSON.stringify(suggestion)}? (allowed: ${allowedText})`;
}
