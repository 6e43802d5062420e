// Each string format carries its JSON Schema beside its parser; the escape rule of route paths is
// built from the normaliser's list of decoded characters for both, so they agree on every escape.
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { routePath } from "../../src/config/configFormats.ts";
import { routeExactPath, routeGlob } from "../../src/config/routeFormats.ts";

const ajv = new Ajv({ strict: true, allowUnionTypes: true });

const everyEscape = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0")).flatMap((hex) => [
  hex.toUpperCase(),
  hex,
]);

describe("route path formats and their JSON Schemas", () => {
  for (const [name, format] of [
    ["path prefix", routePath],
    ["exact path", routeExactPath],
    ["glob", routeGlob],
  ] as const) {
    it(`the ${name} schema accepts an escape exactly when the parser does, for all 512 spellings`, () => {
      const validate = ajv.compile(format.jsonSchema);
      const disagreements = everyEscape
        .map((hex) => `/files/a%${hex}b`)
        .filter((path) => format.parse(path).ok !== validate(path));
      expect(disagreements).toEqual([]);
      // Some escapes are kept (a space, a slash is refused elsewhere) and some are refused (%41 is "A").
      expect(validate("/files/a%20b")).toBe(true);
      expect(validate("/files/a%41b")).toBe(false);
    });
  }
});
