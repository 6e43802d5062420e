// A provider's start-up load (discovery unless `discovery: false`, then the first key set) with background retries on the
// clock until it succeeds, then the background key-set refresh every jwksMaxAgeSeconds. Neither
// ever rejects; the state's lastError says what failed, and one warning is logged per problem.
import { createJwksFetch } from "./createJwksFetch.ts";
import { createProviderKeySet } from "./createProviderKeySet.ts";
import { discoverProvider, discoveryUrl } from "./discoverProvider.ts";
import { fetchProviderKeys } from "./fetchProviderKeys.ts";
import { describeLoadError } from "./mapVerifyError.ts";
import type { ProviderLoading, ProviderState, RemoteKeys } from "./ProviderState.ts";
import { createStaticKeysFetch } from "./createStaticKeysFetch.ts";
import { traceIdpCall } from "./traceIdpCall.ts";

export async function loadProvider(state: ProviderState, loading: ProviderLoading): Promise<void> {
  const { config } = state;
  try {
    state.keys ??= await keySetOf(state, loading);
    try {
      await fetchProviderKeys(state, state.keys, loading);
    } catch (err) {
      throw new LoadStepError("jwks", err);
    }
    state.ready = true;
    state.failures = 0;
    state.lastError = undefined;
    loading.logger?.info(
      { provider: config.name },
      config.discovery !== false
        ? "OIDC provider ready: discovery and keys loaded"
        : "OIDC provider ready: keys loaded (no discovery)",
    );
    scheduleRefresh(state, loading);
  } catch (err) {
    if (state.closing.signal.aborted) return;
    scheduleRetry(state, loading, err);
  }
}

/**
 * Where the provider's keys come from: the discovery document's (or the configured) jwks_uri, or,
 * with `discovery: false`, the configured jwksUri or staticKeys without any discovery request.
 */
async function keySetOf(state: ProviderState, loading: ProviderLoading): Promise<RemoteKeys> {
  const { config } = state;
  if (config.discovery === false) {
    // check-config guarantees one of them; fail closed (never ready) should that ever not hold.
    if (config.jwksUri !== null) return createProviderKeySet(createJwksFetch(state, loading, new URL(config.jwksUri)));
    return createProviderKeySet(createStaticKeysFetch(state, loading));
  }
  let discovered;
  try {
    discovered = await traceIdpCall(
      "discovery",
      config.name,
      "GET",
      discoveryUrl(config.issuer),
      () => discoverProvider(config, loading.fetch, state.closing.signal),
      loading.observer?.idpCall,
    );
  } catch (err) {
    throw new LoadStepError("discovery", err);
  }
  // The key set swaps only after a successful reload and never fetches on its own:
  // fetchProviderKeys() decides when to reload (cooldown counted from the last attempt).
  state.metadata = discovered.metadata;
  return createProviderKeySet(createJwksFetch(state, loading, discovered.jwksUri));
}

/** Backoff doubling from retryInitialMs to retryMaxMs, with one warning per distinct problem. */
function scheduleRetry(state: ProviderState, loading: ProviderLoading, err: unknown): void {
  const step = err instanceof LoadStepError ? err.step : "load";
  const cause = err instanceof LoadStepError ? err.cause : err;
  state.lastError = `${step}: ${describeLoadError(cause)}`;
  state.failures += 1;
  const delay = Math.min(loading.retryInitialMs * 2 ** (state.failures - 1), loading.retryMaxMs);
  // One warning per distinct problem, not one every retry.
  if (state.lastError !== state.lastLoggedError) {
    state.lastLoggedError = state.lastError;
    loading.logger?.warn(
      { provider: state.config.name, error: state.lastError, retryInMs: delay },
      "OIDC provider not ready; retrying",
    );
  }
  state.timer = loading.clock.setTimeout(() => {
    state.timer = undefined;
    void loadProvider(state, loading);
  }, jitter(delay));
}

/** Background refresh every jwksMaxAgeSeconds, whatever the previous one did; stopped by releaseProviderState(). */
function scheduleRefresh(state: ProviderState, loading: ProviderLoading): void {
  if (state.closing.signal.aborted) return;
  state.refreshTimer?.cancel();
  state.refreshTimer = loading.clock.setTimeout(
    () => {
      state.refreshTimer = undefined;
      const keys = state.keys;
      if (keys === undefined) return;
      fetchProviderKeys(state, keys, loading)
        .catch(() => undefined) // already counted, logged and kept in lastError by fetchProviderKeys
        .finally(() => scheduleRefresh(state, loading));
    },
    jitterDown(state.config.jwksMaxAgeSeconds * 1000),
  );
}

class LoadStepError extends Error {
  readonly step: "discovery" | "jwks";
  constructor(step: "discovery" | "jwks", cause: unknown) {
    super(step, { cause });
    this.step = step;
  }
}

/** ±20 % so replicas restarted together do not retry in lockstep. */
function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}

/** 80–100 %: spreads replicas' refreshes without ever letting the keys get older than the max age. */
function jitterDown(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.2));
}
