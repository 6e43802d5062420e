// The request headers an allowed request loses beyond the identity headers: those of the route's
// removals (policy.removeRequestHeaders less what the route forwards) that the request carries.
import type { HeaderList } from "./Decision.ts";

/**
 * `base` plus those of the route's request-header removals (policy.removeRequestHeaders less what
 * the route forwards) that the request carries. Envoy gives ext_authz every request header (unless
 * an `allowed_headers` narrows them: docs/security.md), so a name missing here is a header missing
 * from the request; naming only those present keeps the usual answer the cached `base` list, with
 * nothing allocated and nothing more to encode (always naming the eight defaults cost the
 * cached-bearer Check about 15% in bench/checkPath.ts). A header we set is never removed (Envoy
 * applies removals after sets); the config refuses that overlap too.
 */
export function withRouteRemovals(
  base: readonly string[],
  routeRemovals: readonly string[],
  requestHeaders: ReadonlyMap<string, string>,
  set: HeaderList,
): readonly string[] {
  let list: string[] | null = null;
  // Index loops, here and in setsHeader: on the Check path a for-of allocated an iterator result
  // per name.
  for (let i = 0; i < routeRemovals.length; i++) {
    const name = routeRemovals[i]!;
    if (!requestHeaders.has(name) || base.includes(name) || setsHeader(set, name)) continue;
    (list ??= [...base]).push(name);
  }
  return list ?? base;
}

/**
 * Whether `set` sets `name`. A function of its own rather than a closure over the loop's name: a
 * closure there made every iteration allocate a scope for it (~40 B a name, 320 B a check with the
 * eight default removals), called or not.
 */
function setsHeader(set: HeaderList, name: string): boolean {
  for (let i = 0; i < set.length; i++) if (set[i]![0] === name) return true;
  return false;
}
