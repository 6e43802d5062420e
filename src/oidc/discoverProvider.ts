// OIDC discovery for one provider: fetch <issuer>/.well-known/openid-configuration, require the
// document's `issuer` to equal the configured one exactly, and pick the JWKS URL (the configured
// override wins). Throws BoundedFetchError with a log-safe message; never retries by itself.
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import { BoundedFetchError, boundedFetch, redactUrl, type FetchLike } from "./boundedFetch.ts";
import { createIssuerPolicy } from "./createIssuerPolicy.ts";

export interface DiscoveredProvider {
  readonly jwksUri: URL;
  /** The whole discovery document, frozen, for rooms that need more than keys later. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export function discoveryUrl(issuer: string): string {
  // OIDC Discovery 1.0 §4: a terminating "/" of the issuer is removed before appending.
  return `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
}

export async function discoverProvider(
  provider: ProviderConfig,
  fetchImpl: FetchLike,
  abort?: AbortSignal,
): Promise<DiscoveredProvider> {
  const url = discoveryUrl(provider.issuer);
  const text = await boundedFetch(fetchImpl, url, {
    signal: abort
      ? AbortSignal.any([AbortSignal.timeout(provider.discoveryTimeoutMs), abort])
      : AbortSignal.timeout(provider.discoveryTimeoutMs),
    timeoutMs: provider.discoveryTimeoutMs,
    accept: "application/json",
  });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new BoundedFetchError(`discovery document at ${redactUrl(url)} is not JSON`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new BoundedFetchError(`discovery document at ${redactUrl(url)} is not a JSON object`);
  }
  const metadata = doc as Record<string, unknown>;
  // A multi-tenant endpoint (Entra `organizations`) names its `{tenantid}` template instead.
  if (!createIssuerPolicy(provider).acceptsDiscoveryIssuer(metadata["issuer"])) {
    const got = typeof metadata["issuer"] === "string" ? JSON.stringify(metadata["issuer"].slice(0, 200)) : "no issuer";
    throw new BoundedFetchError(
      `discovery issuer mismatch: the document says ${got}, the configuration says ${JSON.stringify(provider.issuer)}`,
    );
  }
  const jwksUri = provider.jwksUri ?? metadata["jwks_uri"];
  if (typeof jwksUri !== "string") throw new BoundedFetchError("discovery document has no jwks_uri");
  let parsed: URL;
  try {
    parsed = new URL(jwksUri);
  } catch {
    throw new BoundedFetchError("jwks_uri is not an absolute URL");
  }
  const insecureOk = provider.allowInsecureHttp && parsed.protocol === "http:";
  if (parsed.protocol !== "https:" && !insecureOk) {
    throw new BoundedFetchError(`jwks_uri ${redactUrl(parsed)} is not https (allowInsecureHttp is off)`);
  }
  return { jwksUri: parsed, metadata: Object.freeze({ ...metadata }) };
}
