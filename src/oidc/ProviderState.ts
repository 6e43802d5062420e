// One configured provider's loading state: discovery, the key set (createProviderKeySet) and its index,
// timers, the fetch in flight, and the token caches to evict from. Shared by a registry and its
// successors while the provider's config is unchanged; ProviderLoading says what the background
// work of the registry that made it reads (fetch, clock, observer, logger, retry backoff).
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import type { FetchLike } from "./boundedFetch.ts";
import type { ProviderKeySet } from "./createProviderKeySet.ts";
import { createIssuerPolicy, type IssuerPolicy } from "./createIssuerPolicy.ts";
import type { Introspector } from "./createIntrospector.ts";
import type { KeySetIndex } from "./KeySetIndex.ts";
import type { OidcObserver } from "./OidcObserver.ts";
import type { UsableKey } from "./readKeySet.ts";
import type { TokenCache } from "./TokenCache.ts";
import { FORBIDDEN_ALG } from "./verifyProviderJwt.ts";

export type RemoteKeys = ProviderKeySet;

export interface RegistryLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a registry's loads, key fetches and refreshes read; a shared state keeps its maker's. */
export interface ProviderLoading {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly observer: OidcObserver | undefined;
  readonly logger: RegistryLogger | undefined;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

export interface ProviderState {
  readonly config: ProviderConfig;
  /** Which `iss` values are this provider's (issuer, tokenIssuers, tenant templates). */
  readonly issuers: IssuerPolicy;
  /** The configured algorithms a token may be signed with (none and HS* never are). */
  readonly allowedAlgorithms: ReadonlySet<string>;
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
  timer: ClockTimer | undefined;
  /** Background key-set refresh (once ready). */
  refreshTimer: ClockTimer | undefined;
  /** The one key-set fetch in flight for this provider; every trigger joins it. */
  inflight: Promise<void> | undefined;
  /** now() when the last key-set fetch started, successful or not: the cooldown counts from it. */
  lastFetchAt: number | undefined;
  lastFetchFailed: boolean;
  /** A refresh failure was logged; no more warnings until a refresh succeeds again. */
  refreshWarned: boolean;
  /**
   * The usable members of the loaded key set, with their KeyObjects: bearer tokens are verified
   * with these. Swapped after each successful fetch.
   */
  keyIndex: KeySetIndex | undefined;
  /** The usable members of the set being fetched, until the fetch completes. */
  pendingKeys: readonly UsableKey[] | undefined;
  /** The verified-token caches of the registries using this state: a dropped key is evicted from each. */
  readonly caches: Set<TokenCache>;
}

export function createProviderState(config: ProviderConfig, cache: TokenCache): ProviderState {
  return {
    config,
    issuers: createIssuerPolicy(config),
    allowedAlgorithms: new Set(config.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg))),
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
}

/** Ends the state's background work once its last registry is closed. */
export function releaseProviderState(state: ProviderState, cache: TokenCache): void {
  state.caches.delete(cache);
  state.users -= 1;
  if (state.users > 0) return;
  state.closing.abort();
  state.timer?.cancel();
  state.refreshTimer?.cancel();
  state.timer = undefined;
  state.refreshTimer = undefined;
}
