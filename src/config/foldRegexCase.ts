// Rewrites a regex source (non-`u` syntax) so that it matches ASCII letters in either case: what the
// `i` flag does for ASCII, written into the pattern because V8's linear-time engine refuses `i`.
// Outside a class a letter `a` becomes `[aA]`; a class gains the other case of every letter and
// letter range it holds (`[a-f0-9]` → `[a-f0-9A-F]`, `[^a-z]` → `[^a-zA-Z]`, as `i` does for a
// negated class). Escapes that stand for a letter (`\x41`, `\u0061`, identity escapes such as `\e`)
// fold too; class escapes (`\d`, `\w`, ...), group names and modifiers are copied unchanged, and so
// are `\1`-`\9` (backreference or legacy octal escape, depending on the groups): route config refuses
// those (routePathPattern.ts), so no folded pattern holds one.
// Paths are matched after normalisation, which percent-encodes everything outside ASCII, so ASCII
// folding is the whole of case-insensitivity here.

const SPECIAL_ESCAPES = new Set("bBdDwWsSfnrtvcxuk0123456789");

function isLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function otherCase(char: string): string {
  const lower = char.toLowerCase();
  return lower === char ? char.toUpperCase() : lower;
}

function bothCases(char: string): string {
  return `[${char}${otherCase(char)}]`;
}

const HEX = /^[0-9A-Fa-f]+$/;

/** The escape at `i` (a backslash): its length and, when it stands for one character, that character. */
function readEscape(source: string, i: number): { length: number; char: string | null } {
  const next = source[i + 1];
  if (next === undefined) return { length: 1, char: null };
  if (next === "x" || next === "u") {
    const digits = next === "x" ? 2 : 4;
    const hex = source.slice(i + 2, i + 2 + digits);
    if (hex.length === digits && HEX.test(hex))
      return { length: 2 + digits, char: String.fromCharCode(parseInt(hex, 16)) };
    return { length: 2, char: next }; // `\x` without hex digits is an identity escape in non-u syntax
  }
  if (next === "c" && /[A-Za-z]/.test(source[i + 2] ?? "")) return { length: 3, char: null };
  if (next === "k") {
    if (source[i + 2] !== "<") return { length: 2, char: "k" }; // an identity escape: `\k` names a group only before `<`
    const end = source.indexOf(">", i + 3);
    return { length: end === -1 ? 2 : end - i + 1, char: null };
  }
  if (SPECIAL_ESCAPES.has(next)) return { length: 2, char: null };
  return { length: 2, char: next };
}

/** Extra class text holding the other case of every letter in [from, to]. */
function foldedRange(from: number, to: number): string {
  let extra = "";
  for (const [lo, hi, shift] of [
    [0x41, 0x5a, 0x20],
    [0x61, 0x7a, -0x20],
  ] as const) {
    const a = Math.max(from, lo);
    const b = Math.min(to, hi);
    if (a > b) continue;
    const start = String.fromCharCode(a + shift);
    extra += a === b ? start : `${start}-${String.fromCharCode(b + shift)}`;
  }
  return extra;
}

/** Folds the class starting at `i` (a `[`); returns the rewritten class and the index after it. */
function foldClass(source: string, i: number): { text: string; end: number } {
  let j = i + 1;
  if (source[j] === "^") j++;
  // Atoms as code points (null for a class escape such as \d, which no range can use), and "-".
  const atoms: Array<number | null | "-"> = [];
  while (j < source.length && source[j] !== "]") {
    if (source[j] === "\\") {
      const escape = readEscape(source, j);
      // In a class `\b` is a backspace; other class escapes (\d, \w, ...) are sets.
      atoms.push(source[j + 1] === "b" ? 8 : escape.char === null ? null : escape.char.charCodeAt(0));
      j += escape.length;
    } else {
      atoms.push(source[j] === "-" ? "-" : source.charCodeAt(j));
      j++;
    }
  }
  // An unterminated class is a syntax error either way; leave it for the RegExp constructor.
  if (j >= source.length) return { text: source.slice(i), end: source.length };
  let extra = "";
  let trailingDash = false;
  const codeOf = (atom: number | null | "-" | undefined): number | null => (atom === "-" ? 0x2d : (atom ?? null));
  for (let k = 0; k < atoms.length; k++) {
    const from = codeOf(atoms[k]);
    if (atoms[k + 1] === "-" && k + 2 < atoms.length) {
      // `a-z`, and `--z` or `!--` (a "-" may be an end); a class escape at either end (`\d-z`) is no range.
      const to = codeOf(atoms[k + 2]);
      if (from !== null && to !== null) extra += foldedRange(from, to);
      else for (const single of [from, to]) if (single !== null) extra += foldedRange(single, single);
      k += 2;
    } else if (from !== null) {
      extra += foldedRange(from, from);
      if (k === atoms.length - 1 && atoms[k] === "-") trailingDash = true;
    }
  }
  // After a trailing literal "-" (not a range's end) the extra letters would read as a range (`[x-]` → `[x-X]`): put them before it.
  const body = trailingDash ? `${source.slice(i, j - 1)}${extra}-` : `${source.slice(i, j)}${extra}`;
  return { text: `${body}]`, end: j + 1 };
}

export function foldRegexCase(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === "\\") {
      const escape = readEscape(source, i);
      out +=
        escape.char !== null && isLetter(escape.char.charCodeAt(0))
          ? bothCases(escape.char)
          : source.slice(i, i + escape.length);
      i += escape.length;
    } else if (c === "[") {
      const folded = foldClass(source, i);
      out += folded.text;
      i = folded.end;
    } else if (c === "(" && source[i + 1] === "?") {
      // Group syntax: `(?:`, `(?=`, `(?<name>`, `(?i:` are copied whole, never folded.
      let j = i + 2;
      const kind = source[j];
      if (kind === ":" || kind === "=" || kind === "!") j += 1;
      else if (kind === "<" && (source[j + 1] === "=" || source[j + 1] === "!")) j += 2;
      else if (kind === "<") {
        const end = source.indexOf(">", j);
        j = end === -1 ? source.length : end + 1;
      } else {
        // A modifier group `(?i-m:`: its flag letters up to and with the colon.
        while (j < source.length && /[A-Za-z-]/.test(source[j] as string)) j++;
        if (source[j] === ":") j++;
      }
      out += source.slice(i, j);
      i = j;
    } else {
      out += isLetter(c.charCodeAt(0)) ? bothCases(c) : c;
      i++;
    }
  }
  return out;
}
