// A provider's key set for jose's jwtVerify (ID and logout tokens): the last set fetched by our
// own GET, swapped only after a fetch succeeds, reloaded only when fetchProviderKeys says so.
// Replaces jose's createRemoteJWKSet, whose construction loads undici (new Headers) at start-up.
import { createLocalJWKSet, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from "jose";

export interface ProviderKeySet {
  (protectedHeader?: JWSHeaderParameters, token?: FlattenedJWSInput): ReturnType<ReturnType<typeof createLocalJWKSet>>;
  /** Fetches the set again; on success the new set replaces the old one, on failure the old one stays. */
  reload(): Promise<void>;
}

/** `fetchKeySet` fetches and checks the set (createJwksFetch); concurrent reloads share one fetch. */
export function createProviderKeySet(fetchKeySet: () => Promise<JSONWebKeySet>): ProviderKeySet {
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let pending: Promise<void> | undefined;
  const reload = (): Promise<void> => {
    pending ??= fetchKeySet()
      .then((set) => {
        local = createLocalJWKSet(set);
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const keySet = async (protectedHeader?: JWSHeaderParameters, token?: FlattenedJWSInput) => {
    // Verification only runs once the provider is ready (a set is loaded); before, load one.
    if (local === undefined) await reload();
    return (local as ReturnType<typeof createLocalJWKSet>)(protectedHeader, token);
  };
  return Object.assign(keySet, { reload });
}
