// The identity headers one verified credential gets: ours to set, and every other owned header to
// remove. Kept per claims object once the credential comes back (the token cache hands back the same
// object for a cached token, so it costs no rebuild), and an entry goes when the cache drops the
// claims. A credential seen once is built for its one check and not kept: most first-seen tokens
// never return, and each WeakMap entry is an ephemeron every collection has to trace.
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
  /** Keep the set for this claims object: the credential has been seen before (Subject.keepAnswer). */
  keep: boolean,
) => IdentityHeaderSet;

export function createIdentityHeaderCache(
  identity: IdentityHeaderBuilder,
  forwardAuthorization: boolean,
): IdentityHeaderCache {
  const byClaims = new WeakMap<object, IdentityHeaderSet>();
  // Most credentials get the same header names, hence the same remove list: the last one is reused
  // (frozen, never changed) instead of one more array kept per credential.
  let lastSet: HeaderList | undefined;
  let lastRemove: readonly string[] = [];
  return (claims, machine, provider, keep) => {
    // A claims object belongs to one credential, hence to one provider: the cache key stays the claims.
    const hit = byClaims.get(claims);
    if (hit) return hit;
    const set = identity.build(claims, machine ? "client" : "user", provider);
    const remove = lastSet !== undefined && sameNames(lastSet, set) ? lastRemove : removeList(set);
    lastSet = set;
    lastRemove = remove;
    const value = { set, remove };
    if (keep) byClaims.set(claims, value);
    return value;
  };

  /** Every owned header not in `set`, and the credential's own header unless it is forwarded. */
  function removeList(set: HeaderList): readonly string[] {
    // A header we set must not also be in the remove list (Envoy applies removals after the sets);
    // the overwrite already replaces any client-sent value.
    const remove = identity.ownedHeaders.filter((name) => !set.some(([setName]) => setName === name));
    // The upstream gets the verified identity, not the credential: a token it never sees is a
    // token it cannot leak or replay.
    if (!forwardAuthorization) remove.push("authorization");
    return Object.freeze(remove);
  }
}

/** The same header names in the same order. */
function sameNames(a: HeaderList, b: HeaderList): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]![0] !== b[i]![0]) return false;
  return true;
}
