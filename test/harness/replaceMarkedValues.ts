// The shipped example configs (nginx, Caddy, Envoy) run in the tests as shipped, with only their
// marked values (addresses, ports, certificate paths) replaced: a value no longer in the example
// fails loudly, so the example and its test cannot drift apart silently.

/** Replaces each `from` (every occurrence with `everyOccurrence`, else the first) in `text`, the example `file`. */
export function replaceMarkedValues(
  text: string,
  file: string,
  replacements: ReadonlyArray<readonly [string, string]>,
  everyOccurrence = false,
): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`${file} no longer has "${from.trim()}"`);
    out = everyOccurrence ? out.replaceAll(from, to) : out.replace(from, to);
  }
  return out;
}
