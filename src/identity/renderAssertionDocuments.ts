// What the auth listener publishes for upstreams that verify the assertion: the JWK set of every
// published key (public parts only) and an OpenID-style discovery document naming the issuer and
// that set. Rendered once per key set, as JSON text.
import type { AssertionKeySet } from "./AssertionKey.ts";

export interface AssertionDocuments {
  /** `{"keys": [...]}`: the public JWKs, the signing key first. */
  readonly jwks: string;
  /** `{"issuer", "jwks_uri", ...}`; null without an issuer. */
  readonly discovery: string | null;
}

export function renderAssertionDocuments(keys: AssertionKeySet, issuer: string | null): AssertionDocuments {
  const jwks = JSON.stringify({ keys: keys.published.map((key) => key.publicJwk) });
  const algorithms = [...new Set(keys.published.map((key) => key.alg))];
  const discovery =
    issuer === null
      ? null
      : JSON.stringify({
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          id_token_signing_alg_values_supported: algorithms,
        });
  return { jwks, discovery };
}
