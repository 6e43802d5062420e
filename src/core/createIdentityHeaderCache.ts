// The identity headers one verified credential gets: ours to set, and every other owned header to
// remove. Built once per claims object: the token cache hands back the same object for a cached
// token, so it costs no rebuild, and an entry goes when the cache drops the claims.
import type { HeaderList } from "./Decision.ts";

export interface IdentityHeaderSet {
  readonly set: HeaderList;
  readonly remove: readonly string[];
}

/** What the Gate needs of src/identity's header builder to make the set. */
export interface IdentityHeaderBuilder {
  readonly ownedHeaders: readonly string[];
  build(
    claims: Readonly<Record<string, unknown>>,
    principal?: "user" | "client",
    provider?: string,
  ): ReadonlyArray<readonly [string, string]>;
}

export type IdentityHeaderCache = (
  claims: Readonly<Record<string, unknown>>,
  machine: boolean,
  provider: string,
) => IdentityHeaderSet;

export function createIdentityHeaderCache(
  identity: IdentityHeaderBuilder,
  forwardAuthorization: boolean,
): IdentityHeaderCache {
  const byClaims = new WeakMap<object, IdentityHeaderSet>();
  return (claims, machine, provider) => {
    // A claims object belongs to one credential, hence to one provider: the cache key stays the claims.
    const hit = byClaims.get(claims);
    if (hit) return hit;
    const set = identity.build(claims, machine ? "client" : "user", provider);
    // A header we set must not also be in the remove list (Envoy applies removals after the sets);
    // the overwrite already replaces any client-sent value.
    const setNames = new Set(set.map(([name]) => name));
    const remove = identity.ownedHeaders.filter((name) => !setNames.has(name));
    // The upstream gets the verified identity, not the credential: a token it never sees is a
    // token it cannot leak or replay.
    if (!forwardAuthorization) remove.push("authorization");
    const value = { set, remove };
    byClaims.set(claims, value);
    return value;
  };
}
