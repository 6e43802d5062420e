// Case-insensitive route regexes on the linear-time engine, which refuses the `i` flag: the pattern's
// ASCII letters are folded instead (foldRegexCase). Examples, then a differential property against
// the backtracking engine's own `i` flag on generated patterns and paths (bin/fuzz runs it long).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileLinearRegex } from "../../src/config/compileLinearRegex.ts";
import { foldRegexCase } from "../../src/config/foldRegexCase.ts";
import { routeRegexProblem } from "../../src/config/routePathPattern.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";

describe("case folding for the linear engine (which refuses the i flag)", () => {
  const fixed: [string, string][] = [
    ["^/Admin/[a-z0-9]+$", "^/[Aa][dD][mM][iI][nN]/[a-z0-9A-Z]+$"],
    ["^/x[^a-f]y$", "^/[xX][^a-fA-F][yY]$"],
    ["[x-]", "[xX-]"],
    ["(?:ab)(?<n>c)\\d\\x41", "(?:[aA][bB])(?<n>[cC])\\d[Aa]"],
    ["^/\\x41dmin\\u006E$", "^/[Aa][dD][mM][iI][nN][nN]$"],
    ["[\\x41-\\x43]", "[\\x41-\\x43a-c]"],
    ["^/\\kx$", "^/[kK][xX]$"],
  ];
  it.each(fixed)("folds %s", (source, folded) => expect(foldRegexCase(source)).toBe(folded));

  // A small regex grammar rich in letters, classes, ranges, escapes and groups: the folded pattern on
  // the linear engine must agree with the backtracking engine's own `i` flag on every ASCII path.
  const letter = fc.constantFrom("a", "B", "z", "Q", "m");
  const atom: fc.Arbitrary<string> = fc.oneof(
    letter,
    fc.constantFrom(
      "/",
      "-",
      ".",
      "0",
      "9",
      "_",
      "\\d",
      "\\w",
      "\\W",
      "\\x41",
      "\\x5a",
      "\\x6D",
      "\\u0062",
      "\\u005A",
      "\\x",
      "\\k",
      "\\-",
      "\\.",
    ),
    // Legacy octal escapes (`\101` is "A"): config refuses them, checked below.
    fc.constantFrom("\\101", "\\132", "\\141", "\\1", "\\7", "\\01", "\\061", "\\8"),
    fc
      .tuple(
        fc.boolean(),
        fc.array(
          fc.oneof(
            letter,
            fc.constantFrom(
              "a-f",
              "A-C",
              "0-9",
              "x-z",
              "\\d",
              "-",
              "_",
              "Z-a",
              "\\x41-\\x46",
              "\\x6d",
              "\\u0051",
              "\\101",
              "\\141-\\143",
            ),
          ),
          { minLength: 1, maxLength: 4 },
        ),
      )
      .map(([negated, items]) => `[${negated ? "^" : ""}${items.join("")}]`),
  );
  const piece = fc.tuple(atom, fc.constantFrom("", "", "+", "*", "?", "{2}", "{1,3}")).map(([a, q]) => a + q);
  const sequence = fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join(""));
  const pattern = fc.oneof(
    sequence,
    fc.tuple(sequence, sequence).map(([a, b]) => `(?:${a}|${b})+`),
    fc.tuple(sequence, sequence).map(([a, b]) => `${a}(${b})?`),
  );
  const input = fc.string({
    unit: fc.constantFrom("a", "A", "b", "B", "z", "Z", "q", "Q", "m", "M", "/", "-", "0", "_", "x", "C", "."),
    maxLength: 12,
  });

  it("agrees with the i flag on every generated pattern and path", () => {
    fc.assert(
      fc.property(pattern, input, (source, text) => {
        const anchored = `^(?:${source})$`;
        if (/\\(?:[1-9]|0[0-9])/.test(source)) {
          // An octal escape (or backreference) is copied unfolded, so route config must refuse it.
          expect(routeRegexProblem(`^${source}$`) ?? "accepted").toMatch(
            /octal escape|not a valid regular expression|linear time/,
          );
          return;
        }
        let native: RegExp;
        try {
          native = new RegExp(anchored, "i");
        } catch {
          // The grammar can write an invalid class (`[a-Z-a]`); folding must not make it valid.
          expect(() => compileLinearRegex(anchored, "i")).toThrow(SyntaxError);
          return;
        }
        expect(compileLinearRegex(anchored, "i").test(text)).toBe(native.test(text));
      }),
      { numRuns: propertyRuns(3000) },
    );
  });
});
