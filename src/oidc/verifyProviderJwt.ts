// Verifies a JWT with the provider its `iss` picked: the signature with the provider's prepared
// key set (one refetch per cooldown for an unknown kid), jose's claim checks, our time-claim rules
// on the clock, the provider's claim rules and the access-token form; a success is cached under the
// key that verified it. Without an unknown kid it never awaits, so the token is in the cache before
// the same token's next request runs: identical concurrent first-seen tokens are verified once.
import { errors, type JWTPayload } from "jose";
import { checkProviderClaims } from "./checkProviderClaims.ts";
import { checkTimeClaims } from "./checkTimeClaims.ts";
import { checkTokenLimits } from "./checkTokenLimits.ts";
import { denyToken } from "./denyToken.ts";
import { freezeClaims } from "./freezeClaims.ts";
import { refetchForUnknownKid } from "./fetchProviderKeys.ts";
import { isUnknownKeyError, mapVerifyError } from "./mapVerifyError.ts";
import type { ProviderLoading, ProviderState, RemoteKeys } from "./ProviderState.ts";
import { refuseNonAccessTokens } from "./refuseNonAccessTokens.ts";
import type { CachedVerification, TokenCache } from "./TokenCache.ts";
import { validateJwtClaims } from "./validateJwtClaims.ts";
import { verifyCompactJws, type JwsCheck } from "./verifyCompactJws.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

/** Never acceptable whatever the configuration says: no signature, or a shared secret. */
export const FORBIDDEN_ALG = /^(none|HS\d+)$/i;

/** A token's text and its payload as readUnverifiedIssuer parsed it (trusted only once the signature is verified). */
interface UnverifiedJwt {
  readonly token: string;
  readonly claims: JWTPayload;
}

/**
 * The provider is ready (keys loaded); a denial value for every token problem. Answers at once
 * (no promise, nothing to wait for) unless the token names a kid the loaded keys lack, which waits
 * for at most one refetch; throws VerifierFault for an error mapVerifyError does not recognise.
 */
export function verifyProviderJwt(
  state: ProviderState,
  keys: RemoteKeys,
  jwt: UnverifiedJwt,
  cached: { readonly cache: TokenCache; readonly key: string },
  loading: ProviderLoading,
): VerifyOutcome | Promise<VerifyOutcome> {
  const checked = checkSignature(state, jwt.token);
  if (!checked.ok && isUnknownKeyError(checked.error))
    return verifyAfterRefetch(state, keys, jwt, checked, { cached, loading });
  return concludeVerification(state, checked, jwt, cached, loading);
}

/** An unknown kid: one refetch of the key set per cooldown, then the signature again with what it brought. */
async function verifyAfterRefetch(
  state: ProviderState,
  keys: RemoteKeys,
  jwt: UnverifiedJwt,
  unknownKid: JwsCheck,
  {
    cached,
    loading,
  }: { readonly cached: { readonly cache: TokenCache; readonly key: string }; readonly loading: ProviderLoading },
): Promise<VerifyOutcome> {
  const refetch = await refetchForUnknownKid(state, keys, loading);
  // A failed refresh, now or earlier in this cooldown, answers jwks_unavailable: we cannot tell
  // whether the IdP has this key, and every token with this kid gets the same answer during the
  // window whichever request happened to trigger the fetch. key_not_found is kept for a kid
  // that a key set fetched successfully does not have.
  if (refetch === "failed" || (refetch === "cooling-down" && state.lastFetchFailed)) {
    const when = refetch === "failed" ? "could not be refreshed" : "could not be refreshed within the cooldown";
    return denyToken(
      "jwks_unavailable",
      `no loaded key matches the token and the key set ${when} (${state.lastError ?? "jwks: failed"})`,
      state.config.name,
    );
  }
  const checked = refetch === "refreshed" ? checkSignature(state, jwt.token) : unknownKid;
  return concludeVerification(state, checked, jwt, cached, loading);
}

/** After the signature: jose's claim checks, our time rules, the provider's claim rules and form; a success is cached. */
function concludeVerification(
  state: ProviderState,
  checked: JwsCheck,
  jwt: UnverifiedJwt,
  cached: { readonly cache: TokenCache; readonly key: string },
  loading: ProviderLoading,
): VerifyOutcome {
  const { config } = state;
  const { clock } = loading;
  if (!checked.ok) {
    const mapped = mapVerifyError(checked.error); // throws VerifierFault for anything unrecognised
    return denyToken(mapped.code, mapped.detail, config.name);
  }
  const now = clock.now();
  const claimsChecked = validateJwtClaims(checked.header, jwt.claims, {
    // iss is checked by checkProviderClaims (aliases, tenant templates); aud here unless the
    // provider names its audience in client_id (Cognito).
    audiences: config.audienceClaim === "client_id" ? undefined : config.audiences,
    typ: config.requireAccessTokenType ? "at+jwt" : undefined, // application/at+jwt matches too
    toleranceSeconds: config.clockToleranceSeconds,
    nowSeconds: Math.floor(now / 1000),
  });
  if (!claimsChecked.ok) {
    const mapped = mapVerifyError(claimsChecked.error);
    return denyToken(mapped.code, mapped.detail, config.name);
  }
  const payload: JWTPayload = claimsChecked.claims;
  const timeProblem = checkTimeClaims(payload, now / 1000, config.clockToleranceSeconds);
  if (timeProblem) return denyToken(timeProblem.code, timeProblem.detail, config.name);
  const claimsProblem = checkProviderClaims(config, state.issuers, payload);
  if (claimsProblem) return denyToken(claimsProblem.code, claimsProblem.detail, config.name);
  const limitProblem = checkTokenLimits(config, payload);
  if (limitProblem) return denyToken(limitProblem.code, limitProblem.detail, config.name);
  const formProblem = refuseNonAccessTokens(checked.header["typ"], payload, {
    idTokensAreBearer: config.opaqueAccessTokens === true,
  });
  if (formProblem) return denyToken(formProblem.code, formProblem.detail, config.name);
  const entry: CachedVerification = {
    provider: config.name,
    claims: freezeClaims(payload),
    expiresAt: payload.exp as number,
  };
  // Cached only while the verifying key is still in the set: a key dropped while this token waited
  // for a refetch must not leave an entry behind that no eviction will see.
  if (state.keyIndex?.thumbprints.has(checked.signedBy) === true) cached.cache.set(cached.key, entry, checked.signedBy);
  return { ok: true, ...entry };
}

/** The signature and header checks with the keys the provider holds now. */
function checkSignature(state: ProviderState, token: string): JwsCheck {
  const index = state.keyIndex;
  // Ready implies a key set was adopted; fail closed should that ever not hold.
  if (index === undefined) return { ok: false, error: new errors.JWKSNoMatchingKey() };
  return verifyCompactJws(token, index, state.allowedAlgorithms);
}
