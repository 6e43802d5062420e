// The literal text every match of an anchored route regex starts with, read from its source, so the
// route table can skip the regex with a startsWith (and index it by first path segment). Errs on the
// side of a shorter prefix: any alternation, class, group or escape other than punctuation stops it.

export interface RegexPrefix {
  /** Text every matching path starts with ("" when none is known). */
  readonly prefix: string;
  /** True when the whole regex is that literal (`^/healthz$`). */
  readonly complete: boolean;
}

const SYNTAX = "^$.*+?()[]{}|\\";
const ESCAPED_LITERALS = "/.-_~!\"#%&',:;<=>@`" + "^$*+?()[]{}|\\";

export function regexLiteralPrefix(source: string): RegexPrefix {
  // `|` anywhere (even inside a group) could let some branch start differently.
  if (!source.startsWith("^") || source.includes("|")) return { prefix: "", complete: false };
  let prefix = "";
  let i = 1;
  while (i < source.length) {
    const c = source[i] as string;
    let literal: string;
    let width: number;
    if (c === "\\") {
      const next = source[i + 1];
      if (next === undefined || !ESCAPED_LITERALS.includes(next)) break;
      literal = next;
      width = 2;
    } else if (SYNTAX.includes(c)) {
      return { prefix, complete: c === "$" && i === source.length - 1 };
    } else {
      literal = c;
      width = 1;
    }
    const quantifier = source[i + width];
    // `a?`, `a*`, `a{0,2}` may match no `a`; `a+` matches at least one, then the text is unknown.
    if (quantifier === "?" || quantifier === "*" || quantifier === "{") break;
    prefix += literal;
    if (quantifier === "+") break;
    i += width;
  }
  return { prefix, complete: false };
}
