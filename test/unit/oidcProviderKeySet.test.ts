// A provider's key set for ID and logout tokens: the last set a successful fetch loaded, kept when
// a reload fails, with concurrent reloads sharing one fetch.
import type { JSONWebKeySet } from "jose";
import { errors } from "jose";
import { describe, expect, it } from "vitest";
import { createProviderKeySet } from "../../src/oidc/createProviderKeySet.ts";
import { createSigningKey } from "./oidcLoopbackIdp.ts";

describe("createProviderKeySet", () => {
  it("keeps the set it has when a reload fails, and swaps after one succeeds", async () => {
    const first = await createSigningKey("k1");
    const second = await createSigningKey("k2");
    let answer: () => Promise<JSONWebKeySet> = async () => ({ keys: [first.publicJwk] });
    const keys = createProviderKeySet(() => answer());
    await keys.reload();
    expect(await keys({ alg: "RS256", kid: "k1" })).toBeDefined();
    answer = async () => {
      throw new Error("IdP down");
    };
    await expect(keys.reload()).rejects.toThrow("IdP down");
    expect(await keys({ alg: "RS256", kid: "k1" })).toBeDefined();
    answer = async () => ({ keys: [second.publicJwk] });
    await keys.reload();
    await expect(keys({ alg: "RS256", kid: "k1" })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(await keys({ alg: "RS256", kid: "k2" })).toBeDefined();
  });

  it("shares one fetch among reloads asked while it runs, and never fetches by itself on an unknown kid", async () => {
    const key = await createSigningKey("k1");
    let fetches = 0;
    const keys = createProviderKeySet(async () => {
      fetches += 1;
      return { keys: [key.publicJwk] };
    });
    await Promise.all([keys.reload(), keys.reload(), keys.reload()]);
    expect(fetches).toBe(1);
    await expect(keys({ alg: "RS256", kid: "other" })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(fetches).toBe(1);
  });
});
