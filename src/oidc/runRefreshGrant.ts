// One refresh-token grant (createLoginClient runs it single-flight per refresh token): the new ID
// token, when the IdP sends one, is verified first, so a foreign one ends the session whatever
// else openid-client found.
import * as client from "openid-client";
import { deepFreeze } from "../config/deepFreeze.ts";
import { accessTokenExpiry } from "./accessTokenExpiry.ts";
import { createTokenEndpointFetch } from "./createTokenEndpointFetch.ts";
import type { RefreshResult } from "./LoginClient.ts";
import { configureCall, idTokenExpectations, rereadForIssuer, type LoginClientContext } from "./LoginClientContext.ts";
import { mapGrantError } from "./mapGrantError.ts";
import { traceIdpCall } from "./traceIdpCall.ts";
import { verifyIdToken } from "./verifyIdToken.ts";

export async function runRefreshGrant(ctx: LoginClientContext, refreshToken: string): Promise<RefreshResult> {
  const { options } = ctx;
  const call = createTokenEndpointFetch(ctx.fetch, options.refreshTimeoutMs ?? options.timeoutMs);
  const sentAt = Math.floor(ctx.clock.now() / 1000);
  let tokens: client.TokenEndpointResponse | undefined;
  let failure: unknown;
  try {
    tokens = await traceIdpCall(
      "refresh",
      options.providerName,
      "POST",
      ctx.tokenEndpoint,
      () => client.refreshTokenGrant(configureCall(ctx, call), refreshToken),
      options.observeIdpCall,
    );
  } catch (err) {
    failure = err;
  }
  if (call.failure !== undefined) throw call.failure;
  // Signature and identity first: whatever else openid-client found, a foreign ID token ends the session.
  const idToken = call.body?.["id_token"];
  const idTokenClaims =
    typeof idToken === "string"
      ? await verifyIdToken(idToken, idTokenExpectations(ctx, undefined, "subject_changed"))
      : null;
  if (tokens === undefined && idTokenClaims !== null && call.body !== undefined) {
    const reread = await rereadForIssuer(ctx, call.body, idTokenClaims, (config) =>
      client.refreshTokenGrant(config, refreshToken),
    );
    tokens = reread.tokens;
    failure = reread.failure ?? failure;
  }
  if (tokens === undefined) throw mapGrantError(failure);
  // Frozen: one result is handed to every caller sharing this refresh.
  return deepFreeze({
    idTokenClaims,
    idToken: typeof idToken === "string" ? idToken : null,
    accessToken: tokens.access_token,
    accessTokenExpiresAt: accessTokenExpiry(tokens.access_token, tokens.expires_in, sentAt),
    refreshToken: tokens.refresh_token ?? refreshToken,
    scope: tokens.scope ?? null,
  });
}
