// Whether a `match` or `require.request` sets any request condition. The parser always writes the
// condition lists (empty by default), so "given" means a non-empty list or a time window.

interface MaybeConditions {
  readonly headers?: readonly unknown[] | undefined;
  readonly query?: readonly unknown[] | undefined;
  readonly sourceAddresses?: readonly unknown[] | undefined;
  readonly sni?: readonly unknown[] | undefined;
  readonly time?: unknown;
}

export function requestConditionsGiven(conditions: MaybeConditions | null | undefined): boolean {
  if (conditions === null || conditions === undefined) return false;
  return (
    (conditions.headers?.length ?? 0) > 0 ||
    (conditions.query?.length ?? 0) > 0 ||
    (conditions.sourceAddresses?.length ?? 0) > 0 ||
    (conditions.sni?.length ?? 0) > 0 ||
    (conditions.time !== null && conditions.time !== undefined)
  );
}
