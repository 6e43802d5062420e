// Reloading a provider's key set: one fetch in flight per provider (every trigger joins it), the
// unknown-kid refetch limited to one per cooldown counted from the last attempt, and the swap to the
// fetched set, which ends the cached verifications of every key the new set no longer holds.
import { createKeySetIndex } from "./KeySetIndex.ts";
import { describeLoadError } from "./mapVerifyError.ts";
import type { ProviderLoading, ProviderState, RemoteKeys } from "./ProviderState.ts";

/**
 * Reloads the provider's key set, one fetch in flight at a time (later callers join it). On
 * failure the key set keeps the keys it had, so tokens with known kids keep verifying; the failure is
 * counted by createJwksFetch and logged once per failure streak once the provider is ready.
 */
export function fetchProviderKeys(state: ProviderState, keys: RemoteKeys, loading: ProviderLoading): Promise<void> {
  if (state.inflight !== undefined) return state.inflight;
  state.lastFetchAt = loading.clock.now();
  const name = state.config.name;
  const { logger } = loading;
  const attempt = keys.reload().then(
    () => {
      state.lastFetchFailed = false;
      adoptKeySet(state, loading);
      if (state.refreshWarned) {
        state.refreshWarned = false;
        logger?.info({ provider: name }, "OIDC provider keys refreshed again");
      }
    },
    (err: unknown) => {
      state.lastFetchFailed = true;
      state.lastError = `jwks: ${describeLoadError(err)}`; // log-safe: redacted URL, no body
      if (state.ready && !state.refreshWarned && !state.closing.signal.aborted) {
        state.refreshWarned = true;
        logger?.warn(
          { provider: name, error: state.lastError },
          "OIDC provider keys could not be refreshed; still verifying with the keys loaded before",
        );
      }
      throw err;
    },
  );
  const inflight = attempt.finally(() => {
    if (state.inflight === inflight) state.inflight = undefined;
  });
  state.inflight = inflight;
  return inflight;
}

/**
 * An unknown kid may mean the IdP rotated keys: refetch, but at most once per cooldown counted
 * from the last fetch *attempt*, so a down IdP cannot be made to take one fetch per token.
 */
export async function refetchForUnknownKid(
  state: ProviderState,
  keys: RemoteKeys,
  loading: ProviderLoading,
): Promise<"refreshed" | "failed" | "cooling-down"> {
  const cooldownMs = state.config.jwksCooldownSeconds * 1000;
  if (
    state.inflight === undefined &&
    state.lastFetchAt !== undefined &&
    loading.clock.now() - state.lastFetchAt < cooldownMs
  ) {
    return "cooling-down";
  }
  try {
    await fetchProviderKeys(state, keys, loading);
    return "refreshed";
  } catch {
    return "failed";
  }
}

/**
 * After the key set swapped in a fetched set: index it with the KeyObjects readKeySet imported (bearer
 * tokens are verified with these from now on), and end the cached verifications of every key the
 * new set no longer holds, in every registry sharing this provider.
 */
function adoptKeySet(state: ProviderState, loading: ProviderLoading): void {
  const fetched = state.pendingKeys;
  if (fetched === undefined) return;
  state.pendingKeys = undefined;
  const previous = state.keyIndex;
  const next = createKeySetIndex(fetched);
  state.keyIndex = next;
  if (previous === undefined) return;
  const removed = new Set([...previous.thumbprints].filter((thumbprint) => !next.thumbprints.has(thumbprint)));
  if (removed.size === 0) return;
  let evicted = 0;
  for (const tokenCache of state.caches) evicted += tokenCache.evictSignedBy(state.config.name, removed);
  loading.logger?.info(
    { provider: state.config.name, removedKeys: removed.size, evictedTokens: evicted },
    "signing keys removed from the key set: the tokens they signed are no longer accepted from the cache",
  );
}
