// Loading a provider's key set: bounded (size, timeout, aborted when the provider closes), traced,
// counted; it keeps only the usable members (readKeySet), records them with their KeyObjects on the
// state for adoptKeySet (bearer tokens are verified with those; the set it returns serves ID and
// logout tokens), and refuses a document that is not a JWK Set or has no usable key.
import type { JSONWebKeySet } from "jose";
import { BoundedFetchError, boundedFetch } from "./boundedFetch.ts";
import { describeLoadError } from "./mapVerifyError.ts";
import type { ProviderLoading, ProviderState } from "./ProviderState.ts";
import { readKeySet } from "./readKeySet.ts";
import { traceIdpCall } from "./traceIdpCall.ts";

export function createJwksFetch(
  state: ProviderState,
  loading: ProviderLoading,
  url: URL,
): () => Promise<JSONWebKeySet> {
  const { name, jwksTimeoutMs } = state.config;
  const { observer } = loading;
  const fetchKeySet = async (): Promise<JSONWebKeySet> => {
    try {
      // The timeout spans the whole GET, connect to last byte; closing the provider aborts it too.
      const text = await boundedFetch(loading.fetch, url, {
        signal: AbortSignal.any([AbortSignal.timeout(jwksTimeoutMs), state.closing.signal]),
        timeoutMs: jwksTimeoutMs,
        accept: "application/json, application/jwk-set+json",
      });
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw new BoundedFetchError("JWKS response is not JSON");
      }
      return keepUsableMembers(state, loading, doc);
    } catch (err) {
      observer?.jwksFetch(name, "error");
      state.lastError = `jwks: ${describeLoadError(err)}`;
      throw err;
    }
  };
  return () => traceIdpCall("jwks_fetch", name, "GET", url, fetchKeySet, observer?.idpCall);
}

/**
 * A fetched or read JWK Set document: its usable members recorded for adoptKeySet, the skipped ones
 * counted and logged, the set for jose returned. Throws a log-safe BoundedFetchError for a document
 * that is not a JWK Set or has no usable key.
 */
export function keepUsableMembers(state: ProviderState, loading: ProviderLoading, doc: unknown): JSONWebKeySet {
  const { name } = state.config;
  const { observer, logger } = loading;
  const members = typeof doc === "object" && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(members)) throw new BoundedFetchError("JWKS response is not a JWK Set");
  // One bad member is skipped, not a reason to refuse the set; a set of bad members only is.
  const read = readKeySet(members);
  if (read.keys.length === 0 && members.length > 0) throw new BoundedFetchError("JWKS has no usable key");
  if (read.skipped.length > 0) {
    observer?.jwksKeysSkipped?.(name, read.skipped.length);
    logger?.warn(
      { provider: name, skipped: read.skipped.slice(0, 10) },
      "JWKS members skipped: they cannot verify a signature",
    );
  }
  state.pendingKeys = read.keys;
  observer?.jwksFetch(name, "ok");
  if (state.ready) state.lastError = undefined;
  return { keys: read.keys.map((usable) => usable.jwk) };
}
