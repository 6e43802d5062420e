// The relying-party side of the OIDC authorization-code flow for one provider: the authorization
// URL (state, nonce, PKCE S256), the callback (state, RFC 9207 iss, code exchange, ID token checks),
// single-flight refresh, and the RP-initiated logout URL. Failures are LoginErrors with a stable code.
//
// openid-client builds the URLs, authenticates the client and runs the grants (its response checks
// included); we add the checks it leaves out (state in constant time before anything else, the ID
// token's signature with the provider's keys and our algorithm allowlist), the timeout and body cap on
// every call (createTokenEndpointFetch), and the mapping of every outcome to a LoginError. The steps
// live in beginAuthorization, exchangeAuthorizationCode and runRefreshGrant.
import { beginAuthorization } from "./beginAuthorization.ts";
import { buildLogoutUrl } from "./buildLogoutUrl.ts";
import { createRefreshCoalescer } from "./createRefreshCoalescer.ts";
import { exchangeAuthorizationCode } from "./exchangeAuthorizationCode.ts";
import type { LoginClient, LoginClientOptions, RefreshResult } from "./LoginClient.ts";
import { createLoginClientContext } from "./LoginClientContext.ts";
import { LoginError } from "./LoginError.ts";
import { runRefreshGrant } from "./runRefreshGrant.ts";
import { validateLoginClientOptions } from "./validateLoginClientOptions.ts";

export type {
  BeganLogin,
  BeginLoginInput,
  EndSessionInput,
  LoginClient,
  LoginClientOptions,
  LoginResult,
  LoginTransaction,
  RefreshResult,
} from "./LoginClient.ts";

/** How long a refresh outcome is replayed to requests still carrying the pre-rotation token. */
export const REFRESH_MEMORY_MS = 60_000;
export const REFRESH_MEMORY_MAX_ENTRIES = 10_000;

/** @throws TypeError for options no login could work with (checked once, at start-up). */
export function createLoginClient(options: LoginClientOptions): LoginClient {
  validateLoginClientOptions(options);
  const ctx = createLoginClientContext(options);
  const refreshes = createRefreshCoalescer<RefreshResult>({
    maxEntries: REFRESH_MEMORY_MAX_ENTRIES,
    rememberMs: REFRESH_MEMORY_MS,
    clock: ctx.clock,
    // An unreachable IdP may be retried; any answer from it is final for that refresh token
    // (it may have rotated the token before we failed, and a retry would be a reuse).
    isFinal: (err) => err instanceof LoginError && err.code !== "token_endpoint_unavailable",
  });

  return {
    begin: (input) => beginAuthorization(ctx, input),
    complete: (params, txn) => exchangeAuthorizationCode(ctx, params, txn),
    async refresh(refreshToken, expected) {
      const result = await refreshes.run(refreshToken, () => runRefreshGrant(ctx, refreshToken));
      // Per caller: concurrent callers share one answer but each states whose session it is.
      if (result.idTokenClaims !== null && result.idTokenClaims.sub !== expected.sub) {
        throw new LoginError("subject_changed", "the refreshed ID token is for another subject");
      }
      return result;
    },
    endSessionUrl(input) {
      return buildLogoutUrl({
        method: options.logout?.method ?? "end_session",
        url: options.logout?.url ?? null,
        sendIdTokenHint: options.logout?.idTokenHint === true,
        metadata: options.metadata,
        issuer: options.issuer,
        clientId: options.clientId,
        idTokenHint: input.idTokenHint,
        postLogoutRedirectUri: input.postLogoutRedirectUri,
        ...(input.state !== undefined ? { state: input.state } : {}),
      });
    },
  };
}
