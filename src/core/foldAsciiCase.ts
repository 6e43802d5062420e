// ASCII case folding for case-insensitive path matching. Normalised paths are ASCII (everything
// else is percent-encoded), and folding only A-Z keeps non-ASCII look-alikes (the Kelvin sign, a
// dotted I) from ever folding into a letter a rule names.

const UPPER_RUN = /[A-Z]+/g;

/** `s` with A-Z lower-cased; `s` itself (no copy) when it has none, as most paths. */
export function foldAsciiCase(s: string): string {
  // A scan of char codes decides the common case (no capital) faster than a regex on the Check path.
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) return s.replace(UPPER_RUN, (run) => run.toLowerCase());
  }
  return s;
}
