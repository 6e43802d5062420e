// The Prometheus registry and every metric Portcullis exports. Labels are bounded by construction:
// route names and provider names come from config, decisions and reasons from closed sets.
// The Check path's families (checks, their duration, token-cache lookups) count into plain numbers
// (BatchedCounter, BatchedHistogram) that a scrape reads, so a check allocates nothing for metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { BatchedCounter } from "./BatchedCounter.ts";
import { BatchedHistogram } from "./BatchedHistogram.ts";
import { readBuildInfo, type BuildInfo } from "./readBuildInfo.ts";

export interface Metrics {
  readonly registry: Registry;
  readonly checks: BatchedCounter<"decision" | "reason" | "route">;
  readonly checkDuration: BatchedHistogram<"decision" | "route">;
  /** Would-be denials of shadow rules (`routes[].mode: shadow`), by route name and denial code. */
  readonly shadowDenials: Counter<"route" | "code">;
  /** Requests that asked for a trace (`log.traceRequests`), by result: traced, rate_limited, untrusted. */
  readonly requestTraces: Counter<"result">;
  readonly jwksFetches: Counter<"provider" | "result">;
  readonly jwksKeysSkipped: Counter<"provider">;
  readonly tokenCacheLookups: BatchedCounter<"result">;
  readonly tokenCacheSize: Gauge;
  readonly providerReady: Gauge<"provider">;
  readonly logins: Counter<"provider" | "result" | "reason">;
  readonly sessionRefreshes: Counter<"provider" | "result">;
  /** Sessions Portcullis refused and ended by itself, by provider and reason (idle). */
  readonly sessionsEnded: Counter<"provider" | "reason">;
  readonly introspections: Counter<"provider" | "result">;
  /** Calls to IdPs by provider, call (IDP_CALLS) and outcome (ok|error|timeout). */
  readonly idpRequestDuration: Histogram<"provider" | "call" | "outcome">;
  readonly configReloads: Counter<"result">;
  readonly configLastReloadSuccess: Gauge;
  /** `listen.tls` file reloads by result (ok, invalid). */
  readonly tlsReloads: Counter<"result">;
  /** When the certificate the listeners present expires (Unix seconds), labelled with its serial number. */
  readonly tlsCertificateExpiry: Gauge<"serial">;
  readonly redisOperations: Counter<"operation" | "result">;
  /** Redis operations' durations by operation (REDIS_OPERATIONS) and outcome (ok|error|timeout). */
  readonly redisOperationDuration: Histogram<"operation" | "outcome">;
  readonly backchannelLogouts: Counter<"provider" | "result">;
}

/** Redis operations counted by portcullis_redis_operations_total (a closed set). */
export const REDIS_OPERATIONS = [
  "session_read",
  "session_write",
  "session_delete",
  "refresh_lock",
  "revocation",
  "dpop_replay",
] as const;
/** Calls timed by portcullis_idp_request_duration_seconds (a closed set). */
export const IDP_CALLS = ["discovery", "jwks_fetch", "introspection", "code_exchange", "refresh"] as const;
/** Results of portcullis_request_traces_total. */
export const REQUEST_TRACE_RESULTS = ["traced", "rate_limited", "untrusted"] as const;
/** Results of portcullis_backchannel_logouts_total. */
export const BACKCHANNEL_RESULTS = ["ok", "invalid", "replayed", "unavailable"] as const;

export interface MetricsOptions {
  tokenCacheSize?: () => number;
  providerReady?: () => ReadonlyArray<{ provider: string; ready: boolean }>;
  /** Whether the Redis connection is up; absent when no Redis is configured (the gauge then reads 1). */
  redisUp?: () => boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  // The standard names (process_*, nodejs_*), unprefixed, so stock Node.js dashboards find them.
  collectDefaultMetrics({ register: registry });
  buildInfoMetric(registry);
  return {
    registry,
    ...checkMetrics(registry),
    ...tokenMetrics(registry, options),
    ...browserLoginMetrics(registry),
    ...configMetrics(registry),
    ...redisMetrics(registry, options),
  };
}

/** The ext_authz Check path: answers and how long they took. */
function checkMetrics(
  registry: Registry,
): Pick<Metrics, "checks" | "checkDuration" | "shadowDenials" | "requestTraces"> {
  const requestTraces = new Counter({
    name: "portcullis_request_traces_total",
    help: "Checks whose request carried the trace header (log.traceRequests), by result: traced (its trace was logged), rate_limited (over maxPerSecond, decided untraced), untrusted (neither a trusted address nor the secret: ignored).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  for (const result of REQUEST_TRACE_RESULTS) requestTraces.inc({ result }, 0);
  return {
    requestTraces,
    shadowDenials: new Counter({
      name: "portcullis_shadow_denials_total",
      help: "Requests a shadow rule (routes[].mode: shadow) would have denied, by route name and denial code; another rule decided them.",
      labelNames: ["route", "code"] as const,
      registers: [registry],
    }),
    checks: new BatchedCounter({
      name: "portcullis_checks_total",
      help: "ext_authz checks answered, by decision (allow|deny), reason (a stable code) and route name.",
      labelNames: ["decision", "reason", "route"] as const,
      registers: [registry],
    }),
    checkDuration: new BatchedHistogram({
      name: "portcullis_check_duration_seconds",
      help: 'Time to answer one ext_authz check, from request decoded to response handed to gRPC, by decision (allow|deny) and route name ("(none)" when no rule matched).',
      labelNames: ["decision", "route"] as const,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}

/** Providers and token verification: readiness, JWKS, the verified-token cache, introspection. */
function tokenMetrics(
  registry: Registry,
  options: MetricsOptions,
): Pick<
  Metrics,
  | "providerReady"
  | "jwksFetches"
  | "jwksKeysSkipped"
  | "tokenCacheLookups"
  | "tokenCacheSize"
  | "introspections"
  | "idpRequestDuration"
> {
  const { tokenCacheSize: tokenCacheSizeFn, providerReady: providerReadyFn } = options;
  const tokenCacheLookups = new BatchedCounter({
    name: "portcullis_token_cache_lookups_total",
    help: "Verified-token cache lookups by result (hit|miss); hit ratio = hit / (hit + miss).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  // Closed label sets start at 0, so dashboards and rate() see the series before the first check.
  for (const result of ["hit", "miss"]) tokenCacheLookups.inc({ result }, 0);
  return {
    providerReady: new Gauge({
      name: "portcullis_provider_ready",
      help: "1 when the provider's discovery document and JWKS are loaded, else 0.",
      labelNames: ["provider"] as const,
      registers: [registry],
      collect() {
        if (!providerReadyFn) return;
        // A provider removed by a config reload disappears instead of keeping its last value.
        this.reset();
        for (const p of providerReadyFn()) this.set({ provider: p.provider }, p.ready ? 1 : 0);
      },
    }),
    jwksFetches: new Counter({
      name: "portcullis_jwks_fetches_total",
      help: "JWKS fetches by provider and result (ok|error).",
      labelNames: ["provider", "result"] as const,
      registers: [registry],
    }),
    jwksKeysSkipped: new Counter({
      name: "portcullis_jwks_keys_skipped_total",
      help: "Members of fetched JWK Sets skipped because they cannot verify a signature (not an object, private, weak or invalid key), by provider.",
      labelNames: ["provider"] as const,
      registers: [registry],
    }),
    tokenCacheLookups,
    tokenCacheSize: new Gauge({
      name: "portcullis_token_cache_entries",
      help: "Verified tokens currently cached.",
      registers: [registry],
      collect() {
        if (tokenCacheSizeFn) this.set(tokenCacheSizeFn());
      },
    }),
    idpRequestDuration: new Histogram({
      name: "portcullis_idp_request_duration_seconds",
      help: "Calls to an IdP by provider, call (discovery|jwks_fetch|introspection|code_exchange|refresh: the last two at the token endpoint) and outcome (ok: answered, whatever the answer|error|timeout), from request sent to answer read.",
      labelNames: ["provider", "call", "outcome"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    introspections: new Counter({
      name: "portcullis_introspections_total",
      help: "Token introspection outcomes by provider and result (active|inactive|error|cache_hit).",
      labelNames: ["provider", "result"] as const,
      registers: [registry],
    }),
  };
}

/** Browser login: logins, session refreshes, back-channel logouts. */
function browserLoginMetrics(
  registry: Registry,
): Pick<Metrics, "logins" | "sessionRefreshes" | "sessionsEnded" | "backchannelLogouts"> {
  return {
    sessionsEnded: new Counter({
      name: "portcullis_sessions_ended_total",
      help: "Sessions ended by Portcullis itself, by provider and reason (idle: refused on a check, unused for session.idleTimeoutSeconds; replaced: a new login of the same browser, a step-up, a consent or a sign-in, took its place). A stateless cookie session the browser sends again after an idle end counts again.",
      labelNames: ["provider", "reason"] as const,
      registers: [registry],
    }),
    logins: new Counter({
      name: "portcullis_logins_total",
      help: "Browser logins by provider, result (started|completed|failed) and reason (a stable code: why it failed; for started, ok, step_up or consent; otherwise ok). Stateless sessions cannot be counted while active.",
      labelNames: ["provider", "result", "reason"] as const,
      registers: [registry],
    }),
    sessionRefreshes: new Counter({
      name: "portcullis_session_refreshes_total",
      help: "Session access-token refreshes by provider and result (ok|ended|unavailable).",
      labelNames: ["provider", "result"] as const,
      registers: [registry],
    }),
    backchannelLogouts: new Counter({
      name: "portcullis_backchannel_logouts_total",
      help: 'Back-channel logout requests by provider and result (ok|invalid|replayed|unavailable); provider "(unknown)" when the token names none of ours.',
      labelNames: ["provider", "result"] as const,
      registers: [registry],
    }),
  };
}

/** Config reloads and when the config in use was applied. */
// Read once per process: in a checkout it asks git, which a registry made per reload need not repeat.
let buildInfo: BuildInfo | undefined;

/** portcullis_build_info: always 1, its labels say which build answers (a rollout's progress, a mixed fleet). */
function buildInfoMetric(registry: Registry): void {
  buildInfo ??= readBuildInfo();
  new Gauge({
    name: "portcullis_build_info",
    help: "Always 1; labelled with the version, the commit it was built from and the Node.js version running it.",
    labelNames: ["version", "commit", "node"] as const,
    registers: [registry],
  }).set({ version: buildInfo.version, commit: buildInfo.commit, node: buildInfo.node }, 1);
}

function configMetrics(
  registry: Registry,
): Pick<Metrics, "configReloads" | "configLastReloadSuccess" | "tlsReloads" | "tlsCertificateExpiry"> {
  const configReloads = new Counter({
    name: "portcullis_config_reloads_total",
    help: "Config reloads (SIGHUP or file change) by result: ok (applied), invalid (refused, old config kept), error (valid but could not be applied, old config kept).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  // Every result is exported from the start, so rate() and alerts see a 0 before the first reload.
  for (const result of ["ok", "invalid", "error"]) configReloads.inc({ result }, 0);
  const configLastReloadSuccess = new Gauge({
    name: "portcullis_config_last_reload_success_timestamp_seconds",
    help: "When the config now in use was applied (process start or the last successful reload), in Unix seconds.",
    registers: [registry],
  });
  configLastReloadSuccess.setToCurrentTime();
  const tlsReloads = new Counter({
    name: "portcullis_tls_reloads_total",
    help: "Reloads of the listen.tls files after they changed, by result: ok (new handshakes use them), invalid (refused, the previous certificate still serves).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  for (const result of ["ok", "invalid"]) tlsReloads.inc({ result }, 0);
  // Labelled, so that nothing is exported without listen.tls (an unlabelled 0 would read as expired).
  const tlsCertificateExpiry = new Gauge({
    name: "portcullis_tls_certificate_expiry_timestamp_seconds",
    help: "When the certificate the gRPC and auth listeners present (listen.tls.certFile) expires, in Unix seconds, by its serial number (one series: the one in use).",
    labelNames: ["serial"] as const,
    registers: [registry],
  });
  return { configReloads, configLastReloadSuccess, tlsReloads, tlsCertificateExpiry };
}

/** Redis: whether it is up, and its operations. */
function redisMetrics(
  registry: Registry,
  options: MetricsOptions,
): Pick<Metrics, "redisOperations" | "redisOperationDuration"> {
  const redisUpFn = options.redisUp;
  // Exported whether or not Redis is configured (the dashboard and alerts find it everywhere): with
  // no Redis there is nothing to be down, so it reads 1.
  new Gauge({
    name: "portcullis_redis_up",
    help: "0 while the configured Redis (sessions, refresh locks, revocations) cannot be reached or leaves two health PINGs in a row unanswered within redis.commandTimeoutMs, else 1 (also 1 when no Redis is configured); it reconnects by itself.",
    registers: [registry],
    collect() {
      this.set(redisUpFn === undefined || redisUpFn() ? 1 : 0);
    },
  });
  const redisOperations = new Counter({
    name: "portcullis_redis_operations_total",
    help: "Redis operations by operation (session_read|session_write|session_delete|refresh_lock|revocation: back-channel logouts with their replay guard, and sign-outs; each attempt counts) and result (ok|error).",
    labelNames: ["operation", "result"] as const,
    registers: [registry],
  });
  for (const operation of REDIS_OPERATIONS)
    for (const result of ["ok", "error"]) redisOperations.inc({ operation, result }, 0);
  const redisOperationDuration = new Histogram({
    name: "portcullis_redis_operation_duration_seconds",
    help: "Redis operations' durations, first command sent to last reply (an operation may be a few commands: a session read with its index, a revocation script), by operation (as portcullis_redis_operations_total) and outcome (ok|error|timeout: no answer within the command's timeout). Operations refused without a command (Redis known to be down) are counted, not timed.",
    labelNames: ["operation", "outcome"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  return { redisOperations, redisOperationDuration };
}
