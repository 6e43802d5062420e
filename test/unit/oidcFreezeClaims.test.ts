// A verified token's claims are cached and shared by every later check of the token, so they are
// frozen all the way down (freezeClaims): nested objects and arrays, an own `__proto__` key as
// JSON.parse makes it, and nothing outside the claims (a polluted prototype stays as it is).
import { describe, expect, it } from "vitest";
import { freezeClaims } from "../../src/oidc/freezeClaims.ts";

describe("freezeClaims", () => {
  it("freezes every object and array in parsed claims", () => {
    const claims = freezeClaims(
      JSON.parse(
        '{"sub":"u","roles":["a",["b",{"c":[1]}]],"realm_access":{"roles":["x"]},"__proto__":{"admin":true},"n":null}',
      ) as Record<string, unknown>,
    );
    const seen: unknown[] = [];
    const walk = (value: unknown): void => {
      if (typeof value !== "object" || value === null) return;
      seen.push(value);
      expect(Object.isFrozen(value)).toBe(true);
      for (const key of Object.keys(value)) walk((value as Record<string, unknown>)[key]);
    };
    walk(claims);
    expect(seen).toHaveLength(8);
    expect(Object.hasOwn(claims, "__proto__")).toBe(true);
    expect(() => ((claims["roles"] as unknown[]).length = 0)).toThrow(TypeError);
    expect(() => ((claims["__proto__"] as Record<string, unknown>)["admin"] = false)).toThrow(TypeError);
  });

  it("leaves what the claims inherit alone", () => {
    const inherited = { shared: { flag: true } };
    const claims = Object.assign(Object.create(inherited) as Record<string, unknown>, { own: { x: 1 } });
    freezeClaims(claims);
    expect(Object.isFrozen(claims["own"])).toBe(true);
    expect(Object.isFrozen(inherited.shared)).toBe(false);
  });

  it("returns numbers, strings, booleans and null as they are", () => {
    for (const value of [1, "s", true, null]) expect(freezeClaims(value)).toBe(value);
  });
});
