// ASCII case folding for case-insensitive path matching. Normalised paths are ASCII (everything
// else is percent-encoded), and folding only A-Z keeps non-ASCII look-alikes (the Kelvin sign, a
// dotted I) from ever folding into a letter a rule names.

const UPPER = /[A-Z]/;
const UPPER_RUN = /[A-Z]+/g;

/** `s` with A-Z lower-cased; `s` itself (no copy) when it has none, as most paths. */
export function foldAsciiCase(s: string): string {
  return UPPER.test(s) ? s.replace(UPPER_RUN, (run) => run.toLowerCase()) : s;
}
