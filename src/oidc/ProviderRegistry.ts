// The configured OIDC providers and bearer-JWT verification: discovery and JWKS loading with
// background retries until each provider is ready, then verify() = shape check → cache → pick the
// provider by exact `iss` → signature on the provider's prepared keys and jose's claim checks
// (verifyProviderJwt) → our time-claim rules → cache. Denials are values;
// faults reject with VerifierFault (see mapVerifyError). Key-set refreshes (background every
// jwksMaxAgeSeconds, unknown kid at most once per jwksCooldownSeconds) never drop loaded keys on failure;
// a successful one that no longer holds a key evicts the cached tokens that key verified.
// Loading lives in loadProvider/fetchProviderKeys, the JWT checks in verifyProviderJwt.
import { isDeepStrictEqual } from "node:util";
import type { JWTVerifyGetKey } from "jose";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import type { FetchLike } from "./boundedFetch.ts";
import { compactShapeProblem, readUnverifiedIssuer } from "./compactJwt.ts";
import type { IntrospectionObserver } from "./createIntrospector.ts";
import { denyToken } from "./denyToken.ts";
import { refetchForUnknownKid } from "./fetchProviderKeys.ts";
import { introspectWithProvider, type IntrospectionSetup } from "./introspectWithProvider.ts";
import { loadProvider } from "./loadProvider.ts";
import { isUnknownKeyError } from "./mapVerifyError.ts";
import type { OidcObserver } from "./OidcObserver.ts";
import {
  createProviderState,
  releaseProviderState,
  type ProviderLoading,
  type ProviderState,
  type RegistryLogger,
} from "./ProviderState.ts";
import { createTokenCache, type TokenCache } from "./TokenCache.ts";
import { validateProviderConfig } from "./validateProviderConfig.ts";
import { verifyProviderJwt } from "./verifyProviderJwt.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

export type { RegistryLogger } from "./ProviderState.ts";

export interface ProviderRegistryOptions {
  readonly tokenCacheMaxEntries: number;
  readonly observer?: OidcObserver;
  readonly introspectionObserver?: IntrospectionObserver;
  readonly fetch?: FetchLike;
  /**
   * Time and timers: claim checks, the token cache, the unknown-kid refetch cooldown, start-up
   * retries and the background key-set refresh. Default: the system clock.
   */
  readonly clock?: Clock;
  readonly logger?: RegistryLogger;
  /** Background retry backoff for discovery/JWKS; defaults 500 ms doubling to 30 s. */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

export interface ProviderStatus {
  readonly provider: string;
  readonly ready: boolean;
  /** Last discovery/JWKS failure, log-safe; cleared by the next success. */
  readonly lastError?: string;
}

export interface ProviderRegistry {
  /** First discovery + JWKS attempt for every provider; never rejects for an unreachable IdP. */
  start(): Promise<void>;
  /** Every provider has its discovery document and a loaded JWKS. */
  isReady(): boolean;
  status(): ProviderStatus[];
  /**
   * Verifies a bearer token against the accepted providers (empty = all).
   * Resolves with a denial value for every token problem; rejects only with VerifierFault.
   */
  verify(token: string, accepted: readonly string[]): Promise<VerifyOutcome>;
  /**
   * What verify() would answer for a token in the verified-token cache, without a promise (the hot
   * path of a known token); undefined when the token needs verify(), which then reuses this call's
   * hash of it.
   */
  verifyCached(token: string, accepted: readonly string[]): VerifyOutcome | undefined;
  cacheSize(): number;
  /**
   * A ready provider's discovery document and key set (for the login client's ID token checks);
   * null while the provider is still loading or when the name is unknown.
   */
  loaded(name: string): LoadedProvider | null;
  /** Stops background retries and aborts in-flight loads; verify() keeps working on loaded keys. */
  close(): void;
  /**
   * A registry for a reloaded config. A provider whose config is deep-equal to one of this
   * registry's keeps its state (discovery, keys, refresh timer, introspection cache), shared by both
   * registries until both are closed; changed and new providers load on the successor's start().
   * The verified-token cache starts empty (a token costs one signature check again, no I/O).
   */
  successor(providers: readonly ProviderConfig[], options: ProviderRegistryOptions): ProviderRegistry;
}

export interface LoadedProvider {
  readonly config: ProviderConfig;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly keys: JWTVerifyGetKey;
}

/** A registry's providers: its own states, the ones adopted from its predecessor, and the exact-issuer index. */
interface RegistryStates {
  readonly states: readonly ProviderState[];
  readonly adopted: ReadonlySet<ProviderState>;
  readonly byIssuer: ReadonlyMap<string, ProviderState>;
}

export function createProviderRegistry(
  providers: readonly ProviderConfig[],
  options: ProviderRegistryOptions,
): ProviderRegistry {
  return buildRegistry(providers, options, []);
}

function buildRegistry(
  providers: readonly ProviderConfig[],
  options: ProviderRegistryOptions,
  inherited: readonly ProviderState[],
): ProviderRegistry {
  const loading: ProviderLoading = {
    fetch: options.fetch ?? fetch,
    clock: options.clock ?? systemClock,
    observer: options.observer,
    logger: options.logger,
    retryInitialMs: options.retryInitialMs ?? 500,
    retryMaxMs: options.retryMaxMs ?? 30_000,
  };
  const introspection: IntrospectionSetup = {
    fetch: loading.fetch,
    clock: loading.clock,
    maxEntries: options.tokenCacheMaxEntries,
    observer: options.introspectionObserver,
  };
  const { clock, observer } = loading;
  const cache = createTokenCache({ maxEntries: options.tokenCacheMaxEntries, now: () => clock.now() });
  const registryStates = collectStates(providers, inherited, cache, loading.logger);
  const { states, adopted } = registryStates;
  let started: Promise<void> | undefined;
  let closed = false;
  // The last token verifyCached() missed and its key, until the verify() that follows it.
  let missed: { readonly token: string; readonly key: string } | undefined;

  return {
    start() {
      started ??= Promise.all(
        states.filter((state) => !adopted.has(state)).map((state) => loadProvider(state, loading)),
      ).then(() => undefined);
      return started;
    },
    isReady: () => states.every((state) => state.ready),
    loaded: (name) => loadedProvider(states, name, loading),
    status: () =>
      states.map((state) => ({
        provider: state.config.name,
        ready: state.ready,
        ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
      })),
    verifyCached(token, accepted) {
      // Only a compact JWS can be in the cache: anything else goes to verify() without a hash.
      if (!hasTwoDots(token)) return undefined;
      const key = cache.keyOf(token);
      const hit = cache.get(key);
      if (hit === undefined) {
        missed = { token, key };
        return undefined;
      }
      observer?.tokenCache(true);
      return cachedOutcome(hit, accepted);
    },
    async verify(token, accepted) {
      // The key verifyCached() computed a moment ago when it missed this very token (the gate calls
      // them back to back, in one turn), so a first-seen token is hashed and looked up once.
      const known = missed !== undefined && missed.token === token ? missed.key : undefined;
      missed = undefined;
      const shapeProblem = compactShapeProblem(token);
      if (shapeProblem !== undefined) return verifyOpaque(states, token, accepted, shapeProblem, introspection);
      const cacheKey = known ?? cache.keyOf(token);
      const hit = known === undefined ? cache.get(cacheKey) : undefined;
      observer?.tokenCache(hit !== undefined);
      if (hit !== undefined) return cachedOutcome(hit, accepted);
      return verifyByIssuer(token, accepted, { cache, key: cacheKey }, registryStates, loading, introspection);
    },
    cacheSize: () => cache.size(),
    successor: (next, nextOptions) => buildRegistry(next, nextOptions, closed ? [] : states),
    close() {
      if (closed) return;
      closed = true;
      for (const state of states) releaseProviderState(state, cache);
    },
  };
}

/**
 * A JWT not in the cache: the provider its `iss` names (exact issuer first, then tenant templates)
 * verifies it. A value when nothing has to be waited for (the usual first-seen token: verify()
 * answers it without a promise chain of its own), a promise for introspection or an unknown kid.
 */
function verifyByIssuer(
  token: string,
  accepted: readonly string[],
  cached: { readonly cache: TokenCache; readonly key: string },
  { states, byIssuer }: RegistryStates,
  loading: ProviderLoading,
  introspection: IntrospectionSetup,
): VerifyOutcome | Promise<VerifyOutcome> {
  const unverified = readUnverifiedIssuer(token);
  if (!unverified.ok) return denyToken("token_malformed", unverified.detail);
  if (unverified.iss === undefined) return denyToken("issuer_mismatch", "token has no string iss claim");
  // An exact issuer wins over another provider's tenant template.
  const iss = unverified.iss;
  const state =
    byIssuer.get(iss) ??
    states.find((candidate) => candidate.issuers.templates.length > 0 && candidate.issuers.recognizes(iss));
  if (state === undefined || !isAccepted(state.config.name, accepted)) {
    // The issuer comes from an unverified token: bounded and quoted for the log.
    return denyToken("issuer_mismatch", `token iss ${JSON.stringify(iss.slice(0, 200))} is not an accepted provider`);
  }
  const { config } = state;
  // This provider's JWTs are introspected rather than verified here (revocation takes effect at once).
  if (config.introspection.enabled && config.introspection.jwt)
    return introspectWithProvider(state, token, introspection);
  if (!state.ready || state.keys === undefined) {
    return denyToken(
      "jwks_unavailable",
      `provider keys not loaded yet${state.lastError ? ` (${state.lastError})` : ""}`,
      config.name,
    );
  }
  return verifyProviderJwt(state, state.keys, { token, claims: unverified.claims }, cached, loading);
}

/** Validates the providers and gives each a state: the predecessor's when its config is unchanged, else a new one. */
function collectStates(
  providers: readonly ProviderConfig[],
  inherited: readonly ProviderState[],
  cache: TokenCache,
  logger: RegistryLogger | undefined,
): RegistryStates {
  const byIssuer = new Map<string, ProviderState>();
  const states: ProviderState[] = [];
  const adopted = new Set<ProviderState>();
  for (const config of providers) {
    validateProviderConfig(config, byIssuer, states);
    // Shared, its loads and refreshes keep running on the closures of the registry that made it.
    const kept = inherited.find(
      (state) => state.config.name === config.name && isDeepStrictEqual(state.config, config),
    );
    if (kept !== undefined) {
      kept.users += 1;
      kept.caches.add(cache);
      adopted.add(kept);
      states.push(kept);
      for (const issuer of kept.issuers.exact) byIssuer.set(issuer, kept);
      continue;
    }
    const state = createProviderState(config, cache);
    states.push(state);
    for (const issuer of state.issuers.exact) byIssuer.set(issuer, state);
    if (config.allowInsecureHttp) {
      logger?.warn(
        { provider: config.name },
        "allowInsecureHttp is on: discovery and keys may be fetched over plain http",
      );
    }
  }
  return { states, adopted, byIssuer };
}

/**
 * Not a JWT: an opaque token, which only introspection can vouch for. It names no issuer, so the
 * first accepted provider (config order) that introspects decides.
 */
function verifyOpaque(
  states: readonly ProviderState[],
  token: string,
  accepted: readonly string[],
  shapeProblem: string,
  introspection: IntrospectionSetup,
): Promise<VerifyOutcome> {
  const introspecting = states.find(
    (state) => state.config.introspection.enabled && isAccepted(state.config.name, accepted),
  );
  if (introspecting !== undefined) return introspectWithProvider(introspecting, token, introspection);
  // Say so when it is the access token of an IdP whose access tokens cannot be checked (Google).
  const opaque = states.find(
    (state) => state.config.opaqueAccessTokens === true && isAccepted(state.config.name, accepted),
  );
  const hint =
    opaque === undefined
      ? ""
      : `; provider ${opaque.config.name} issues opaque access tokens, which cannot be checked: send its ID token instead`;
  return Promise.resolve(denyToken("token_malformed", `${shapeProblem}${hint}`));
}

function loadedProvider(
  states: readonly ProviderState[],
  name: string,
  loading: ProviderLoading,
): LoadedProvider | null {
  const state = states.find((candidate) => candidate.config.name === name);
  if (state === undefined || !state.ready || state.keys === undefined || state.metadata === undefined) return null;
  const keys = state.keys;
  // ID tokens get the same unknown-kid handling as access tokens: one refetch per cooldown, so
  // a login right after the IdP rotated its keys still completes.
  const withRefetch: JWTVerifyGetKey = async (header, token) => {
    try {
      return await keys(header, token);
    } catch (error) {
      if (!isUnknownKeyError(error) || (await refetchForUnknownKid(state, keys, loading)) !== "refreshed") throw error;
      return keys(header, token);
    }
  };
  return { config: state.config, metadata: state.metadata, keys: withRefetch };
}

/** A cache hit as verify() answers it: the cached outcome itself (nothing allocated), unless the route does not accept its provider. */
function cachedOutcome(hit: VerifyOutcome & { ok: true }, accepted: readonly string[]): VerifyOutcome {
  if (!isAccepted(hit.provider, accepted))
    return denyToken("issuer_mismatch", "token issuer is not an accepted provider for this route", hit.provider);
  return hit;
}

/** Exactly two dots, the shape of a compact JWS, checked without splitting the token. */
function hasTwoDots(token: string): boolean {
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  return second > 0 && token.indexOf(".", second + 1) < 0;
}

function isAccepted(provider: string, accepted: readonly string[]): boolean {
  return accepted.length === 0 || accepted.includes(provider);
}
