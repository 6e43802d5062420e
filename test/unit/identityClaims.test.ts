import { describe, it, expect } from "vitest";
import { resolveClaim } from "../../src/identity/resolveClaim.ts";

describe("resolveClaim", () => {
  it("reads a top-level claim", () => {
    expect(resolveClaim({ groups: ["a", "b"] }, "groups")).toEqual(["a", "b"]);
  });

  it("reads a nested claim by dotted path such as realm_access.roles", () => {
    const claims = { realm_access: { roles: ["admin", "user"] } };
    expect(resolveClaim(claims, "realm_access.roles")).toEqual(["admin", "user"]);
  });

  it("reads a per-client claim such as resource_access.app.roles", () => {
    const claims = { resource_access: { app: { roles: ["editor"] }, other: { roles: ["x"] } } };
    expect(resolveClaim(claims, "resource_access.app.roles")).toEqual(["editor"]);
  });

  it("reads a key with a colon such as cognito:groups", () => {
    expect(resolveClaim({ "cognito:groups": ["g1"] }, "cognito:groups")).toEqual(["g1"]);
  });

  it("reads a namespaced URL claim whose key contains dots literally", () => {
    const claims = { "https://example.com/roles": ["r1"], https: { "//example": { "com/roles": ["wrong"] } } };
    expect(resolveClaim(claims, "https://example.com/roles")).toEqual(["r1"]);
  });

  it("prefers the literal dotted key over the nested path", () => {
    const claims = { "a.b": "literal", a: { b: "nested" } };
    expect(resolveClaim(claims, "a.b")).toBe("literal");
  });

  it("falls back to the nested path when the literal key branch does not resolve", () => {
    const claims = { "a.b": { other: 1 }, a: { b: { c: "nested" } } };
    expect(resolveClaim(claims, "a.b.c")).toBe("nested");
  });

  it("reads through a key containing dots in the middle of a path, such as a client id", () => {
    const claims = { resource_access: { "my.client": { roles: ["viewer"] } } };
    expect(resolveClaim(claims, "resource_access.my.client.roles")).toEqual(["viewer"]);
  });

  it("returns undefined for a missing claim or a path through a non-object", () => {
    expect(resolveClaim({}, "roles")).toBeUndefined();
    expect(resolveClaim({ a: "text" }, "a.length")).toBeUndefined();
    expect(resolveClaim({ a: ["x"] }, "a.0")).toBeUndefined();
    expect(resolveClaim({ a: null }, "a.b")).toBeUndefined();
  });

  it("never reads inherited properties", () => {
    expect(resolveClaim({}, "__proto__")).toBeUndefined();
    expect(resolveClaim({}, "constructor.name")).toBeUndefined();
    expect(resolveClaim({ a: {} }, "a.toString")).toBeUndefined();
  });
});
