// The trace span and the timing of one call to an IdP (discovery, JWKS, introspection, code
// exchange, refresh): a child of the Check span when a check waits for it. Attributes name the
// provider and the endpoint without its query; never a token, code, secret or response body.
import { performance } from "node:perf_hooks";
import { withSpan, type SpanNotes } from "../observability/withSpan.ts";
import { redactUrl } from "./boundedFetch.ts";

export type IdpCall = "discovery" | "jwks_fetch" | "introspection" | "code_exchange" | "refresh";
/** How a call ended: answered (whatever the answer), failed, or over its timeout. */
export type IdpCallOutcome = "ok" | "error" | "timeout";
/** Told of every call's duration; labels come from config (provider) and closed sets only. */
export type IdpCallObserver = (call: IdpCall, provider: string, outcome: IdpCallOutcome, seconds: number) => void;

export function traceIdpCall<T>(
  call: IdpCall,
  provider: string,
  method: "GET" | "POST",
  url: string | URL,
  run: (notes: SpanNotes) => Promise<T>,
  observe?: IdpCallObserver,
): Promise<T> {
  const traced = withSpan(
    `oidc.${call}`,
    { "portcullis.provider": provider, "http.request.method": method, "url.full": redactUrl(url) },
    run,
  );
  if (observe === undefined) return traced;
  const startedAt = performance.now();
  const seconds = () => (performance.now() - startedAt) / 1000;
  return traced.then(
    (value) => {
      observe(call, provider, "ok", seconds());
      return value;
    },
    (err: unknown) => {
      observe(call, provider, timedOut(err) ? "timeout" : "error", seconds());
      throw err;
    },
  );
}

/**
 * Whether a failure is, or was caused by, a timeout: AbortSignal.timeout's TimeoutError,
 * openid-client's OAUTH_TIMEOUT, or our fetches' "timed out" message.
 */
function timedOut(err: unknown): boolean {
  let cause = err;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (cause.name === "TimeoutError" || code === "OAUTH_TIMEOUT" || /timed out/.test(cause.message)) return true;
    cause = cause.cause;
  }
  return false;
}
