// What the OIDC room reports to metrics. Kept as a tiny interface so the room does not import
// prom-client; the observability room provides the implementation, tests may pass a recorder.
import type { IdpCallObserver } from "./traceIdpCall.ts";

export interface OidcObserver {
  /** One HTTP fetch of a provider's JWKS finished (start-up load, background retry or refetch). */
  jwksFetch(provider: string, result: "ok" | "error"): void;
  /** Members of a fetched key set that were skipped because they cannot verify a signature. */
  jwksKeysSkipped?(provider: string, count: number): void;
  /** How long one discovery or JWKS call took and how it ended. */
  idpCall?: IdpCallObserver;
  /** One verified-token cache lookup. */
  tokenCache(hit: boolean): void;
}
