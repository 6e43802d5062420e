// What the OIDC room reports to metrics. Kept as a tiny interface so the room does not import
// prom-client; the observability room provides the implementation, tests may pass a recorder.

export interface OidcObserver {
  /** One HTTP fetch of a provider's JWKS finished (start-up load, background retry or refetch). */
  jwksFetch(provider: string, result: "ok" | "error"): void;
  /** One verified-token cache lookup. */
  tokenCache(hit: boolean): void;
}
