// The configured OIDC providers and bearer-JWT verification: discovery and JWKS loading with
// background retries until each provider is ready, then verify() = shape check → cache → pick the
// provider by exact `iss` → jose jwtVerify → our time-claim rules → cache. Denials are values;
// faults reject with VerifierFault (see mapVerifyError). Key-set refreshes (background every
// jwksMaxAgeSeconds, unknown kid at most once per jwksCooldownSeconds) never drop loaded keys on failure;
// a successful one that no longer holds a key evicts the cached tokens that key verified.
import { isDeepStrictEqual } from "node:util";
import { deepFreeze } from "../config/deepFreeze.ts";
import { createIntrospector, type IntrospectionObserver, type Introspector } from "./createIntrospector.ts";
import {
  createRemoteJWKSet,
  customFetch,
  jwtVerify,
  type FetchImplementation,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from "jose";
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import { BoundedFetchError, boundedFetch, type FetchLike } from "./boundedFetch.ts";
import { checkProviderClaims } from "./checkProviderClaims.ts";
import { checkTimeClaims } from "./checkTimeClaims.ts";
import { refuseNonAccessTokens } from "./refuseNonAccessTokens.ts";
import { createIssuerPolicy, type IssuerPolicy } from "./createIssuerPolicy.ts";
import { compactShapeProblem, readUnverifiedIssuer } from "./compactJwt.ts";
import { discoverProvider, discoveryUrl } from "./discoverProvider.ts";
import { describeLoadError, isUnknownKeyError, mapVerifyError } from "./mapVerifyError.ts";
import type { OidcObserver } from "./OidcObserver.ts";
import { createKeySetIndex, type KeySetIndex } from "./KeySetIndex.ts";
import { readKeySet } from "./readKeySet.ts";
import { createTokenCache, type CachedVerification, type TokenCache } from "./TokenCache.ts";
import type { TokenErrorCode } from "./TokenErrorCode.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";
import { VerifierFault } from "./VerifierFault.ts";
import { traceIdpCall } from "./traceIdpCall.ts";

export interface RegistryLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ProviderRegistryOptions {
  readonly tokenCacheMaxEntries: number;
  readonly observer?: OidcObserver;
  readonly introspectionObserver?: IntrospectionObserver;
  readonly fetch?: FetchLike;
  /**
   * Epoch milliseconds; drives claim checks, the token cache and the unknown-kid refetch cooldown
   * (not the background key-set refresh, which runs on a real timer).
   */
  readonly now?: () => number;
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

/** Never acceptable whatever the configuration says: no signature, or a shared secret. */
const FORBIDDEN_ALG = /^(none|HS\d+)$/i;

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

interface ProviderState {
  readonly config: ProviderConfig;
  /** Which `iss` values are this provider's (issuer, tokenIssuers, tenant templates). */
  readonly issuers: IssuerPolicy;
  /** Aborts this provider's loads and refreshes once no registry uses it any more. */
  readonly closing: AbortController;
  /** Registries (a registry and its successors) that use this state and have not been closed. */
  users: number;
  keys: RemoteKeys | undefined;
  metadata: Readonly<Record<string, unknown>> | undefined;
  introspector: Introspector | undefined;
  ready: boolean;
  lastError: string | undefined;
  lastLoggedError: string | undefined;
  failures: number;
  /** Start-up retry (until ready). */
  timer: NodeJS.Timeout | undefined;
  /** Background key-set refresh (once ready). */
  refreshTimer: NodeJS.Timeout | undefined;
  /** The one key-set fetch in flight for this provider; every trigger joins it. */
  inflight: Promise<void> | undefined;
  /** now() when the last key-set fetch started, successful or not: the cooldown counts from it. */
  lastFetchAt: number | undefined;
  lastFetchFailed: boolean;
  /** A refresh failure was logged; no more warnings until a refresh succeeds again. */
  refreshWarned: boolean;
  /** The usable members of the key set jose holds, by thumbprint; swapped after each successful fetch. */
  keyIndex: KeySetIndex | undefined;
  /** The usable members of the set being fetched, until the fetch completes. */
  pendingKeys: readonly Record<string, unknown>[] | undefined;
  /** The verified-token caches of the registries using this state: a dropped key is evicted from each. */
  readonly caches: Set<TokenCache>;
}

type SignatureCheck =
  | {
      readonly ok: true;
      readonly payload: JWTPayload;
      readonly header: { readonly typ?: unknown; readonly alg?: unknown; readonly kid?: unknown };
    }
  | { readonly ok: false; readonly error: unknown };

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
  const fetchImpl: FetchLike = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const observer = options.observer;
  const logger = options.logger;
  const retryInitialMs = options.retryInitialMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const cache = createTokenCache({ maxEntries: options.tokenCacheMaxEntries, now });
  let closed = false;

  const byIssuer = new Map<string, ProviderState>();
  const states: ProviderState[] = [];
  const adopted = new Set<ProviderState>();
  for (const config of providers) {
    validateProvider(config, byIssuer, states);
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
    const state: ProviderState = {
      config,
      issuers: createIssuerPolicy(config),
      closing: new AbortController(),
      users: 1,
      keys: undefined,
      metadata: undefined,
      introspector: undefined,
      ready: false,
      lastError: undefined,
      lastLoggedError: undefined,
      failures: 0,
      timer: undefined,
      refreshTimer: undefined,
      inflight: undefined,
      lastFetchAt: undefined,
      lastFetchFailed: false,
      refreshWarned: false,
      keyIndex: undefined,
      pendingKeys: undefined,
      caches: new Set([cache]),
    };
    states.push(state);
    for (const issuer of state.issuers.exact) byIssuer.set(issuer, state);
    if (config.allowInsecureHttp) {
      logger?.warn(
        { provider: config.name },
        "allowInsecureHttp is on: discovery and keys may be fetched over plain http",
      );
    }
  }

  function jwksFetchFor(state: ProviderState): FetchImplementation {
    const { name, jwksTimeoutMs } = state.config;
    const fetchKeySet: FetchImplementation = async (url, init) => {
      try {
        const text = await boundedFetch(fetchImpl, url, {
          signal: AbortSignal.any([init.signal, state.closing.signal]),
          timeoutMs: jwksTimeoutMs,
          accept: "application/json, application/jwk-set+json",
          headers: init.headers,
        });
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          throw new BoundedFetchError("JWKS response is not JSON");
        }
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
        return new Response(JSON.stringify({ keys: read.keys }), {
          status: 200,
          headers: { "content-type": "application/json" },
        });
      } catch (err) {
        observer?.jwksFetch(name, "error");
        state.lastError = `jwks: ${describeLoadError(err)}`;
        throw err;
      }
    };
    return (url, init) => traceIdpCall("jwks_fetch", name, "GET", url, () => fetchKeySet(url, init));
  }

  async function load(state: ProviderState): Promise<void> {
    const { config } = state;
    try {
      if (state.keys === undefined) {
        let discovered;
        try {
          discovered = await traceIdpCall("discovery", config.name, "GET", discoveryUrl(config.issuer), () =>
            discoverProvider(config, fetchImpl, state.closing.signal),
          );
        } catch (err) {
          throw new LoadStepError("discovery", err);
        }
        // jose keeps the key set, swaps it only after a successful reload and coalesces reloads, but
        // it times its cooldown and max age from the last *successful* fetch: during an IdP outage
        // that would let every unknown kid refetch and make known kids fail after the max age. So
        // jose never fetches on its own here (both Infinity); fetchKeys() decides when to reload.
        state.metadata = discovered.metadata;
        state.keys = createRemoteJWKSet(discovered.jwksUri, {
          timeoutDuration: config.jwksTimeoutMs,
          cooldownDuration: Infinity,
          cacheMaxAge: Infinity,
          [customFetch]: jwksFetchFor(state),
        });
      }
      try {
        await fetchKeys(state, state.keys);
      } catch (err) {
        throw new LoadStepError("jwks", err);
      }
      state.ready = true;
      state.failures = 0;
      state.lastError = undefined;
      logger?.info({ provider: config.name }, "OIDC provider ready: discovery and keys loaded");
      scheduleRefresh(state);
    } catch (err) {
      if (state.closing.signal.aborted) return;
      const step = err instanceof LoadStepError ? err.step : "load";
      const cause = err instanceof LoadStepError ? err.cause : err;
      state.lastError = `${step}: ${describeLoadError(cause)}`;
      state.failures += 1;
      const delay = Math.min(retryInitialMs * 2 ** (state.failures - 1), retryMaxMs);
      // One warning per distinct problem, not one every retry.
      if (state.lastError !== state.lastLoggedError) {
        state.lastLoggedError = state.lastError;
        logger?.warn(
          { provider: config.name, error: state.lastError, retryInMs: delay },
          "OIDC provider not ready; retrying",
        );
      }
      state.timer = setTimeout(() => {
        state.timer = undefined;
        void load(state);
      }, jitter(delay));
      state.timer.unref();
    }
  }

  /**
   * Reloads the provider's key set, one fetch in flight at a time (later callers join it). On
   * failure jose keeps the keys it had, so tokens with known kids keep verifying; the failure is
   * counted by jwksFetchFor and logged once per failure streak once the provider is ready.
   */
  function fetchKeys(state: ProviderState, keys: RemoteKeys): Promise<void> {
    if (state.inflight !== undefined) return state.inflight;
    state.lastFetchAt = now();
    const name = state.config.name;
    const attempt = keys.reload().then(
      () => {
        state.lastFetchFailed = false;
        adoptKeySet(state);
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
   * After jose swapped in a fetched set: index it, and end the cached verifications of every key the
   * new set no longer holds, in every registry sharing this provider.
   */
  function adoptKeySet(state: ProviderState): void {
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
    logger?.info(
      { provider: state.config.name, removedKeys: removed.size, evictedTokens: evicted },
      "signing keys removed from the key set: the tokens they signed are no longer accepted from the cache",
    );
  }

  /** Background refresh every jwksMaxAgeSeconds, whatever the previous one did; stopped by close(). */
  function scheduleRefresh(state: ProviderState): void {
    if (state.closing.signal.aborted) return;
    if (state.refreshTimer !== undefined) clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(
      () => {
        state.refreshTimer = undefined;
        const keys = state.keys;
        if (keys === undefined) return;
        fetchKeys(state, keys)
          .catch(() => undefined) // already counted, logged and kept in lastError by fetchKeys
          .finally(() => scheduleRefresh(state));
      },
      jitterDown(state.config.jwksMaxAgeSeconds * 1000),
    );
    state.refreshTimer.unref();
  }

  /**
   * An unknown kid may mean the IdP rotated keys: refetch, but at most once per cooldown counted
   * from the last fetch *attempt*, so a down IdP cannot be made to take one fetch per token.
   */
  async function refetchForUnknownKid(
    state: ProviderState,
    keys: RemoteKeys,
  ): Promise<"refreshed" | "failed" | "cooling-down"> {
    const cooldownMs = state.config.jwksCooldownSeconds * 1000;
    if (state.inflight === undefined && state.lastFetchAt !== undefined && now() - state.lastFetchAt < cooldownMs) {
      return "cooling-down";
    }
    try {
      await fetchKeys(state, keys);
      return "refreshed";
    } catch {
      return "failed";
    }
  }

  let started: Promise<void> | undefined;

  /** The provider's introspector, made once its discovery document is loaded. */
  function introspect(state: ProviderState, token: string): Promise<VerifyOutcome> {
    const { config } = state;
    if (state.introspector === undefined) {
      if (state.metadata === undefined) {
        return Promise.resolve(
          deny(
            "jwks_unavailable",
            `provider not loaded yet${state.lastError ? ` (${state.lastError})` : ""}`,
            config.name,
          ),
        );
      }
      const endpoint = config.introspection.endpoint ?? state.metadata["introspection_endpoint"];
      if (typeof endpoint !== "string" || !URL.canParse(endpoint)) {
        throw new VerifierFault(
          `provider ${config.name} has no introspection endpoint (set providers.${config.name}.introspection.endpoint)`,
        );
      }
      state.introspector = createIntrospector({
        providerName: config.name,
        endpoint: new URL(endpoint),
        clientId: config.clientId as string,
        clientSecret: config.clientSecret as string,
        authMethod: config.introspection.authMethod,
        timeoutMs: config.requestTimeoutMs,
        cacheTtlSeconds: config.introspection.cacheTtlSeconds,
        maxEntries: options.tokenCacheMaxEntries,
        clockToleranceSeconds: config.clockToleranceSeconds,
        audiences: config.audiences,
        requireAudience: config.introspection.requireAudience !== false,
        audienceClaim: config.audienceClaim ?? "aud",
        issuer: config.issuer,
        issuers: state.issuers,
        requireAccessTokenType: config.requireAccessTokenType,
        idTokensAreBearer: config.opaqueAccessTokens === true,
        ...(config.accessTokenClaims === undefined ? {} : { accessTokenClaims: config.accessTokenClaims }),
        allowInsecureHttp: config.allowInsecureHttp,
        fetch: fetchImpl,
        now,
        ...(options.introspectionObserver ? { observer: options.introspectionObserver } : {}),
      });
    }
    return state.introspector.introspect(token);
  }

  async function verifyUncached(token: string, cacheKey: string, accepted: readonly string[]): Promise<VerifyOutcome> {
    const unverified = readUnverifiedIssuer(token);
    if (!unverified.ok) return deny("token_malformed", unverified.detail);
    if (unverified.iss === undefined) return deny("issuer_mismatch", "token has no string iss claim");
    // An exact issuer wins over another provider's tenant template.
    const iss = unverified.iss;
    const state =
      byIssuer.get(iss) ??
      states.find((candidate) => candidate.issuers.templates.length > 0 && candidate.issuers.recognizes(iss));
    if (state === undefined || !isAccepted(state.config.name, accepted)) {
      // The issuer comes from an unverified token: bounded and quoted for the log.
      return deny(
        "issuer_mismatch",
        `token iss ${JSON.stringify(unverified.iss.slice(0, 200))} is not an accepted provider`,
      );
    }
    const { config } = state;
    // This provider's JWTs are introspected rather than verified here (revocation takes effect at once).
    if (config.introspection.enabled && config.introspection.jwt) return introspect(state, token);
    if (!state.ready || state.keys === undefined) {
      return deny(
        "jwks_unavailable",
        `provider keys not loaded yet${state.lastError ? ` (${state.lastError})` : ""}`,
        config.name,
      );
    }
    const verifyOptions: JWTVerifyOptions = {
      algorithms: config.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg)),
      // iss is checked by checkProviderClaims (aliases, tenant templates); aud here unless the
      // provider names its audience in client_id (Cognito).
      ...(config.audienceClaim === "client_id" ? {} : { audience: [...config.audiences] }),
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ["exp"],
      currentDate: new Date(now()),
    };
    if (config.requireAccessTokenType) verifyOptions.typ = "at+jwt"; // jose also accepts application/at+jwt
    let indexBefore = state.keyIndex;
    let checked = await checkSignature(token, state.keys, verifyOptions);
    if (!checked.ok && isUnknownKeyError(checked.error)) {
      const refetch = await refetchForUnknownKid(state, state.keys);
      // A failed refresh, now or earlier in this cooldown, answers jwks_unavailable: we cannot tell
      // whether the IdP has this key, and every token with this kid gets the same answer during the
      // window whichever request happened to trigger the fetch. key_not_found is kept for a kid
      // that a key set fetched successfully does not have.
      if (refetch === "failed" || (refetch === "cooling-down" && state.lastFetchFailed)) {
        const when = refetch === "failed" ? "could not be refreshed" : "could not be refreshed within the cooldown";
        return deny(
          "jwks_unavailable",
          `no loaded key matches the token and the key set ${when} (${state.lastError ?? "jwks: failed"})`,
          config.name,
        );
      }
      if (refetch === "refreshed") {
        indexBefore = state.keyIndex;
        checked = await checkSignature(token, state.keys, verifyOptions);
      }
    }
    if (!checked.ok) {
      const mapped = mapVerifyError(checked.error); // throws VerifierFault for anything unrecognised
      return deny(mapped.code, mapped.detail, config.name);
    }
    const { payload } = checked;
    const timeProblem = checkTimeClaims(payload, now() / 1000, config.clockToleranceSeconds);
    if (timeProblem) return deny(timeProblem.code, timeProblem.detail, config.name);
    const claimsProblem = checkProviderClaims(config, state.issuers, payload);
    if (claimsProblem) return deny(claimsProblem.code, claimsProblem.detail, config.name);
    const formProblem = refuseNonAccessTokens(checked.header.typ, payload, {
      idTokensAreBearer: config.opaqueAccessTokens === true,
    });
    if (formProblem) return deny(formProblem.code, formProblem.detail, config.name);
    const entry: CachedVerification = {
      provider: config.name,
      claims: deepFreeze(payload),
      expiresAt: payload.exp as number,
    };
    // Cached only when the verifying key is known and still in the set: a key dropped while this
    // token was being verified must not leave an entry behind that no eviction will see.
    const signingKey = (indexBefore ?? state.keyIndex)?.attribute(checked.header);
    if (signingKey !== undefined && state.keyIndex?.thumbprints.has(signingKey) === true)
      cache.set(cacheKey, entry, signingKey);
    return { ok: true, ...entry };
  }

  return {
    start() {
      started ??= Promise.all(states.filter((state) => !adopted.has(state)).map((state) => load(state))).then(
        () => undefined,
      );
      return started;
    },
    isReady: () => states.every((state) => state.ready),
    loaded(name) {
      const state = states.find((candidate) => candidate.config.name === name);
      if (state === undefined || !state.ready || state.keys === undefined || state.metadata === undefined) return null;
      const keys = state.keys;
      // ID tokens get the same unknown-kid handling as access tokens: one refetch per cooldown, so
      // a login right after the IdP rotated its keys still completes.
      const withRefetch: JWTVerifyGetKey = async (header, token) => {
        try {
          return await keys(header, token);
        } catch (error) {
          if (!isUnknownKeyError(error) || (await refetchForUnknownKid(state, keys)) !== "refreshed") throw error;
          return keys(header, token);
        }
      };
      return { config: state.config, metadata: state.metadata, keys: withRefetch };
    },
    status: () =>
      states.map((state) => ({
        provider: state.config.name,
        ready: state.ready,
        ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
      })),
    async verify(token, accepted) {
      const shapeProblem = compactShapeProblem(token);
      if (shapeProblem !== undefined) {
        // Not a JWT: an opaque token, which only introspection can vouch for. It names no issuer,
        // so the first accepted provider (config order) that introspects decides.
        const introspecting = states.find(
          (state) => state.config.introspection.enabled && isAccepted(state.config.name, accepted),
        );
        if (introspecting === undefined) {
          // Say so when it is the access token of an IdP whose access tokens cannot be checked (Google).
          const opaque = states.find(
            (state) => state.config.opaqueAccessTokens === true && isAccepted(state.config.name, accepted),
          );
          const hint =
            opaque === undefined
              ? ""
              : `; provider ${opaque.config.name} issues opaque access tokens, which cannot be checked: send its ID token instead`;
          return deny("token_malformed", `${shapeProblem}${hint}`);
        }
        return introspect(introspecting, token);
      }
      const cacheKey = cache.keyOf(token);
      const hit = cache.get(cacheKey);
      observer?.tokenCache(hit !== undefined);
      if (hit !== undefined) {
        if (!isAccepted(hit.provider, accepted)) {
          return deny("issuer_mismatch", "token issuer is not an accepted provider for this route", hit.provider);
        }
        return { ok: true, ...hit };
      }
      return verifyUncached(token, cacheKey, accepted);
    },
    cacheSize: () => cache.size(),
    successor: (next, nextOptions) => buildRegistry(next, nextOptions, closed ? [] : states),
    close() {
      if (closed) return;
      closed = true;
      for (const state of states) {
        state.caches.delete(cache);
        state.users -= 1;
        if (state.users > 0) continue;
        state.closing.abort();
        if (state.timer !== undefined) clearTimeout(state.timer);
        if (state.refreshTimer !== undefined) clearTimeout(state.refreshTimer);
        state.timer = undefined;
        state.refreshTimer = undefined;
      }
    },
  };
}

class LoadStepError extends Error {
  readonly step: "discovery" | "jwks";
  constructor(step: "discovery" | "jwks", cause: unknown) {
    super(step, { cause });
    this.step = step;
  }
}

async function checkSignature(token: string, keys: RemoteKeys, options: JWTVerifyOptions): Promise<SignatureCheck> {
  try {
    const verified = await jwtVerify(token, keys, options);
    return { ok: true, payload: verified.payload, header: verified.protectedHeader };
  } catch (error) {
    return { ok: false, error };
  }
}

function deny(code: TokenErrorCode, detail: string, provider?: string): VerifyOutcome {
  return provider === undefined ? { ok: false, code, detail } : { ok: false, code, provider, detail };
}

function isAccepted(provider: string, accepted: readonly string[]): boolean {
  return accepted.length === 0 || accepted.includes(provider);
}

/** ±20 % so replicas restarted together do not retry in lockstep. */
function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}

/** 80–100 %: spreads replicas' refreshes without ever letting the keys get older than the max age. */
function jitterDown(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.2));
}

/** Programming or configuration mistakes the config parser should already have caught: fail at start-up. */
function validateProvider(
  config: ProviderConfig,
  byIssuer: ReadonlyMap<string, ProviderState>,
  states: readonly ProviderState[],
): void {
  const where = `provider ${JSON.stringify(config.name)}`;
  if (states.some((state) => state.config.name === config.name))
    throw new TypeError(`${where}: duplicate provider name`);
  // Tokens are routed to a provider by exact iss; two providers with one issuer would be ambiguous.
  if ([config.issuer, ...(config.tokenIssuers ?? [])].some((issuer) => byIssuer.has(issuer))) {
    throw new TypeError(`${where}: issuer is already used by another provider`);
  }
  let issuer: URL;
  try {
    issuer = new URL(config.issuer);
  } catch {
    throw new TypeError(`${where}: issuer is not an absolute URL`);
  }
  if (issuer.protocol !== "https:" && !(issuer.protocol === "http:" && config.allowInsecureHttp)) {
    throw new TypeError(`${where}: issuer must be https (or http with allowInsecureHttp)`);
  }
  // A zero max age would refresh in a tight loop; the config schema's minimum is 10 s.
  if (!(config.jwksMaxAgeSeconds > 0) || !Number.isFinite(config.jwksMaxAgeSeconds)) {
    throw new TypeError(`${where}: jwksMaxAgeSeconds must be a positive number`);
  }
  if (!(config.jwksCooldownSeconds >= 0) || !Number.isFinite(config.jwksCooldownSeconds)) {
    throw new TypeError(`${where}: jwksCooldownSeconds must be a non-negative number`);
  }
  if (config.audiences.length === 0) throw new TypeError(`${where}: audiences must not be empty`);
  const usable = config.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg));
  if (usable.length !== config.algorithms.length || usable.length === 0) {
    throw new TypeError(`${where}: algorithms must be a non-empty list of asymmetric algorithms`);
  }
}
