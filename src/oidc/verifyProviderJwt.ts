// Verifies a JWT with the provider its `iss` picked: the signature with the provider's loaded keys
// (one refetch per cooldown for an unknown kid), our time-claim rules on the clock, the provider's
// claim rules and the access-token form; a success is cached under the key that verified it.
import { jwtVerify, type JWTPayload, type JWTVerifyOptions } from "jose";
import { deepFreeze } from "../config/deepFreeze.ts";
import { checkProviderClaims } from "./checkProviderClaims.ts";
import { checkTimeClaims } from "./checkTimeClaims.ts";
import { denyToken } from "./denyToken.ts";
import { refetchForUnknownKid } from "./fetchProviderKeys.ts";
import { isUnknownKeyError, mapVerifyError } from "./mapVerifyError.ts";
import type { ProviderLoading, ProviderState, RemoteKeys } from "./ProviderState.ts";
import { refuseNonAccessTokens } from "./refuseNonAccessTokens.ts";
import type { CachedVerification, TokenCache } from "./TokenCache.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

/** Never acceptable whatever the configuration says: no signature, or a shared secret. */
export const FORBIDDEN_ALG = /^(none|HS\d+)$/i;

type SignatureCheck =
  | {
      readonly ok: true;
      readonly payload: JWTPayload;
      readonly header: { readonly typ?: unknown; readonly alg?: unknown; readonly kid?: unknown };
    }
  | { readonly ok: false; readonly error: unknown };

/** The provider is ready (keys loaded); resolves with a denial value for every token problem. */
export async function verifyProviderJwt(
  state: ProviderState,
  keys: RemoteKeys,
  token: string,
  cached: { readonly cache: TokenCache; readonly key: string },
  loading: ProviderLoading,
): Promise<VerifyOutcome> {
  const { config } = state;
  const { clock } = loading;
  const verifyOptions: JWTVerifyOptions = {
    algorithms: config.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg)),
    // iss is checked by checkProviderClaims (aliases, tenant templates); aud here unless the
    // provider names its audience in client_id (Cognito).
    ...(config.audienceClaim === "client_id" ? {} : { audience: [...config.audiences] }),
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ["exp"],
    currentDate: new Date(clock.now()),
  };
  if (config.requireAccessTokenType) verifyOptions.typ = "at+jwt"; // jose also accepts application/at+jwt
  let indexBefore = state.keyIndex;
  let checked = await checkSignature(token, keys, verifyOptions);
  if (!checked.ok && isUnknownKeyError(checked.error)) {
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
        config.name,
      );
    }
    if (refetch === "refreshed") {
      indexBefore = state.keyIndex;
      checked = await checkSignature(token, keys, verifyOptions);
    }
  }
  if (!checked.ok) {
    const mapped = mapVerifyError(checked.error); // throws VerifierFault for anything unrecognised
    return denyToken(mapped.code, mapped.detail, config.name);
  }
  const { payload } = checked;
  const timeProblem = checkTimeClaims(payload, clock.now() / 1000, config.clockToleranceSeconds);
  if (timeProblem) return denyToken(timeProblem.code, timeProblem.detail, config.name);
  const claimsProblem = checkProviderClaims(config, state.issuers, payload);
  if (claimsProblem) return denyToken(claimsProblem.code, claimsProblem.detail, config.name);
  const formProblem = refuseNonAccessTokens(checked.header.typ, payload, {
    idTokensAreBearer: config.opaqueAccessTokens === true,
  });
  if (formProblem) return denyToken(formProblem.code, formProblem.detail, config.name);
  const entry: CachedVerification = {
    provider: config.name,
    claims: deepFreeze(payload),
    expiresAt: payload.exp as number,
  };
  // Cached only when the verifying key is known and still in the set: a key dropped while this
  // token was being verified must not leave an entry behind that no eviction will see.
  const signingKey = (indexBefore ?? state.keyIndex)?.attribute(checked.header);
  if (signingKey !== undefined && state.keyIndex?.thumbprints.has(signingKey) === true)
    cached.cache.set(cached.key, entry, signingKey);
  return { ok: true, ...entry };
}

async function checkSignature(token: string, keys: RemoteKeys, options: JWTVerifyOptions): Promise<SignatureCheck> {
  try {
    const verified = await jwtVerify(token, keys, options);
    return { ok: true, payload: verified.payload, header: verified.protectedHeader };
  } catch (error) {
    return { ok: false, error };
  }
}
