// The shape check every bearer token not in the cache goes through (compactShapeProblem): it gives
// the same answer, reason included, as the plain reading of the rule it implements (split on dots,
// three parts, header and payload not empty, every part in the base64url alphabet), on crafted and
// generated strings, so finding the dots in place and testing the alphabet in one pass changes
// nothing it accepts or refuses.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compactShapeProblem, MAX_TOKEN_LENGTH } from "../../src/oidc/compactJwt.ts";

/** The rule as written: split into parts, then each condition on the parts. */
function byParts(token: string): string | undefined {
  if (token.length === 0) return "empty token";
  if (token.length > MAX_TOKEN_LENGTH) return `token longer than ${MAX_TOKEN_LENGTH} characters`;
  const parts = token.split(".");
  if (parts.length !== 3) return `compact JWS must have 3 parts, got ${parts.length}`;
  const [header, payload, signature] = parts as [string, string, string];
  if (header.length === 0 || payload.length === 0) return "empty JWS header or payload";
  const base64url = /^[A-Za-z0-9_-]*$/;
  if (!base64url.test(header) || !base64url.test(payload) || !base64url.test(signature))
    return "JWS parts are not base64url";
  return undefined;
}

describe("compactShapeProblem", () => {
  it.each([
    ["", "empty token"],
    ["a.b.c", undefined],
    ["a.b.", undefined], // an empty signature is left to the alg check (alg none)
    [".b.c", "empty JWS header or payload"],
    ["a..c", "empty JWS header or payload"],
    ["..", "empty JWS header or payload"],
    ["a.b", "compact JWS must have 3 parts, got 2"],
    ["a.b.c.d", "compact JWS must have 3 parts, got 4"],
    ["a.b.c.", "compact JWS must have 3 parts, got 4"],
    ["abc", "compact JWS must have 3 parts, got 1"],
    ["a=.b.c", "JWS parts are not base64url"],
    ["a.b+.c", "JWS parts are not base64url"],
    ["a.b.c/", "JWS parts are not base64url"],
    ["a.b .c", "JWS parts are not base64url"],
    ["a.b.c\n", "JWS parts are not base64url"],
    ["a.\u212A.c", "JWS parts are not base64url"],
    ["a.b.c\u0000", "JWS parts are not base64url"],
    [`a.${"b".repeat(MAX_TOKEN_LENGTH)}.c`, `token longer than ${MAX_TOKEN_LENGTH} characters`],
  ])("answers %j with %j", (token, problem) => {
    expect(compactShapeProblem(token)).toBe(problem);
    expect(byParts(token)).toBe(problem);
  });

  it("gives the plain rule's answer on generated strings of base64url, dots and other characters", () => {
    const character = fc.constantFrom(..."AZaz09-_.=+/ \n\u0000\u00e9\u212A\ud83d".split(""), "..", "...");
    fc.assert(
      fc.property(fc.array(character, { maxLength: 40 }), (chars) => {
        const token = chars.join("");
        expect(compactShapeProblem(token)).toBe(byParts(token));
      }),
      { numRuns: 5000 },
    );
  });
});
