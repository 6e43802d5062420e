// The configured OIDC providers and bearer-JWT verification: discovery and JWKS loading with
// background retries until each provider is ready, then verify() = shape check → cache → pick the
// provider by exact `iss` → jose jwtVerify → our time-claim rules → cache. Denials are values;
// faults reject with VerifierFault (see mapVerifyError).
import { createRemoteJWKSet, customFetch, jwtVerify, type FetchImplementation, type JWTPayload, type JWTVerifyOptions } from "jose";
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import { BoundedFetchError, boundedFetch, type FetchLike } from "./boundedFetch.ts";
import { checkTimeClaims } from "./checkTimeClaims.ts";
import { compactShapeProblem, readUnverifiedIssuer } from "./compactJwt.ts";
import { discoverProvider } from "./discoverProvider.ts";
import { describeLoadError, mapVerifyError } from "./mapVerifyError.ts";
import type { OidcObserver } from "./OidcObserver.ts";
import { createTokenCache, type CachedVerification } from "./TokenCache.ts";
import type { TokenErrorCode } from "./TokenErrorCode.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

export interface RegistryLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ProviderRegistryOptions {
  readonly tokenCacheMaxEntries: number;
  readonly observer?: OidcObserver;
  readonly fetch?: FetchLike;
  /** Epoch milliseconds; drives claim checks and the token cache (not jose's JWKS cooldown). */
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
  /** Stops background retries and aborts in-flight loads; verify() keeps working on loaded keys. */
  close(): void;
}

/** Never acceptable whatever the configuration says: no signature, or a shared secret. */
const FORBIDDEN_ALG = /^(none|HS\d+)$/i;

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

interface ProviderState {
  readonly config: ProviderConfig;
  keys: RemoteKeys | undefined;
  ready: boolean;
  lastError: string | undefined;
  lastLoggedError: string | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

export function createProviderRegistry(providers: readonly ProviderConfig[], options: ProviderRegistryOptions): ProviderRegistry {
  const fetchImpl: FetchLike = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const observer = options.observer;
  const logger = options.logger;
  const retryInitialMs = options.retryInitialMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const cache = createTokenCache({ maxEntries: options.tokenCacheMaxEntries, now });
  const closing = new AbortController();

  const byIssuer = new Map<string, ProviderState>();
  const states: ProviderState[] = [];
  for (const config of providers) {
    validateProvider(config, byIssuer, states);
    const state: ProviderState = {
      config,
      keys: undefined,
      ready: false,
      lastError: undefined,
      lastLoggedError: undefined,
      failures: 0,
      timer: undefined,
    };
    states.push(state);
    byIssuer.set(config.issuer, state);
    if (config.allowInsecureHttp) {
      logger?.warn({ provider: config.name }, "allowInsecureHttp is on: discovery and keys may be fetched over plain http");
    }
  }

  function jwksFetchFor(state: ProviderState): FetchImplementation {
    const { name, jwksTimeoutMs } = state.config;
    return async (url, init) => {
      try {
        const text = await boundedFetch(fetchImpl, url, {
          signal: AbortSignal.any([init.signal, closing.signal]),
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
        if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
          throw new BoundedFetchError("JWKS response is not a JWK Set");
        }
        observer?.jwksFetch(name, "ok");
        if (state.ready) state.lastError = undefined;
        return new Response(text, { status: 200, headers: { "content-type": "application/json" } });
      } catch (err) {
        observer?.jwksFetch(name, "error");
        state.lastError = `jwks: ${describeLoadError(err)}`;
        throw err;
      }
    };
  }

  async function load(state: ProviderState): Promise<void> {
    const { config } = state;
    try {
      if (state.keys === undefined) {
        let discovered;
        try {
          discovered = await discoverProvider(config, fetchImpl, closing.signal);
        } catch (err) {
          throw new LoadStepError("discovery", err);
        }
        state.keys = createRemoteJWKSet(discovered.jwksUri, {
          timeoutDuration: config.jwksTimeoutMs,
          cooldownDuration: config.jwksCooldownSeconds * 1000,
          cacheMaxAge: config.jwksMaxAgeSeconds * 1000,
          [customFetch]: jwksFetchFor(state),
        });
      }
      try {
        await state.keys.reload();
      } catch (err) {
        throw new LoadStepError("jwks", err);
      }
      state.ready = true;
      state.failures = 0;
      state.lastError = undefined;
      logger?.info({ provider: config.name }, "OIDC provider ready: discovery and keys loaded");
    } catch (err) {
      if (closing.signal.aborted) return;
      const step = err instanceof LoadStepError ? err.step : "load";
      const cause = err instanceof LoadStepError ? err.cause : err;
      state.lastError = `${step}: ${describeLoadError(cause)}`;
      state.failures += 1;
      const delay = Math.min(retryInitialMs * 2 ** (state.failures - 1), retryMaxMs);
      // One warning per distinct problem, not one every retry.
      if (state.lastError !== state.lastLoggedError) {
        state.lastLoggedError = state.lastError;
        logger?.warn({ provider: config.name, error: state.lastError, retryInMs: delay }, "OIDC provider not ready; retrying");
      }
      state.timer = setTimeout(() => {
        state.timer = undefined;
        void load(state);
      }, jitter(delay));
      state.timer.unref();
    }
  }

  let started: Promise<void> | undefined;

  async function verifyUncached(token: string, cacheKey: string, accepted: readonly string[]): Promise<VerifyOutcome> {
    const unverified = readUnverifiedIssuer(token);
    if (!unverified.ok) return deny("token_malformed", unverified.detail);
    if (unverified.iss === undefined) return deny("issuer_mismatch", "token has no string iss claim");
    const state = byIssuer.get(unverified.iss);
    if (state === undefined || !isAccepted(state.config.name, accepted)) {
      // The issuer comes from an unverified token: bounded and quoted for the log.
      return deny("issuer_mismatch", `token iss ${JSON.stringify(unverified.iss.slice(0, 200))} is not an accepted provider`);
    }
    const { config } = state;
    if (!state.ready || state.keys === undefined) {
      return deny("jwks_unavailable", `provider keys not loaded yet${state.lastError ? ` (${state.lastError})` : ""}`, config.name);
    }
    const verifyOptions: JWTVerifyOptions = {
      algorithms: config.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg)),
      issuer: config.issuer,
      audience: [...config.audiences],
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ["exp"],
      currentDate: new Date(now()),
    };
    if (config.requireAccessTokenType) verifyOptions.typ = "at+jwt"; // jose also accepts application/at+jwt
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, state.keys, verifyOptions));
    } catch (err) {
      const mapped = mapVerifyError(err); // throws VerifierFault for anything unrecognised
      return deny(mapped.code, mapped.detail, config.name);
    }
    const timeProblem = checkTimeClaims(payload, now() / 1000, config.clockToleranceSeconds);
    if (timeProblem) return deny(timeProblem.code, timeProblem.detail, config.name);
    const entry: CachedVerification = {
      provider: config.name,
      claims: deepFreeze(payload),
      expiresAt: payload.exp as number,
    };
    cache.set(cacheKey, entry);
    return { ok: true, ...entry };
  }

  return {
    start() {
      started ??= Promise.all(states.map((state) => load(state))).then(() => undefined);
      return started;
    },
    isReady: () => states.every((state) => state.ready),
    status: () =>
      states.map((state) => ({
        provider: state.config.name,
        ready: state.ready,
        ...(state.lastError === undefined ? {} : { lastError: state.lastError }),
      })),
    async verify(token, accepted) {
      const shapeProblem = compactShapeProblem(token);
      if (shapeProblem !== undefined) return deny("token_malformed", shapeProblem);
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
    close() {
      closing.abort();
      for (const state of states) {
        if (state.timer !== undefined) clearTimeout(state.timer);
        state.timer = undefined;
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

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Programming or configuration mistakes the config parser should already have caught: fail at start-up. */
function validateProvider(config: ProviderConfig, byIssuer: ReadonlyMap<string, ProviderState>, states: readonly ProviderState[]): void {
  const where = `provider ${JSON.stringify(config.name)}`;
  if (states.some((state) => state.config.name === config.name)) throw new TypeError(`${where}: duplicate provider name`);
  // Tokens are routed to a provider by exact iss; two providers with one issuer would be ambiguous.
  if (byIssuer.has(config.issuer)) throw new TypeError(`${where}: issuer is already used by another provider`);
  let issuer: URL;
  try {
    issuer = new URL(config.issuer);
  } catch {
    throw new TypeError(`${where}: issuer is not an absolute URL`);
  }
  if (issuer.protocol !== "https:" && !(issuer.protocol === "http:" && config.allowInsecureHttp)) {
    throw new TypeError(`${where}: issuer must be https (or http with allowInsecureHttp)`);
  }
  if (config.audiences.length === 0) throw new TypeError(`${where}: audiences must not be empty`);
  const usable = config.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg));
  if (usable.length !== config.algorithms.length || usable.length === 0) {
    throw new TypeError(`${where}: algorithms must be a non-empty list of asymmetric algorithms`);
  }
}
