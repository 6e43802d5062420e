// The end of a login: the callback's parameters checked in order (nothing not bound to this
// transaction is acted on: state, then the RFC 9207 mix-up defence, then what the IdP said), the
// code exchanged, and the ID token verified by us before openid-client's verdict counts.
import * as client from "openid-client";
import { deepFreeze } from "../config/deepFreeze.ts";
import { accessTokenExpiry } from "./accessTokenExpiry.ts";
import { createTokenEndpointFetch } from "./createTokenEndpointFetch.ts";
import type { LoginResult, LoginTransaction } from "./LoginClient.ts";
import { configureCall, idTokenExpectations, rereadForIssuer, type LoginClientContext } from "./LoginClientContext.ts";
import { LoginError, safeOAuthError } from "./LoginError.ts";
import { mapGrantError } from "./mapGrantError.ts";
import { traceIdpCall } from "./traceIdpCall.ts";
import { sameSecret, verifyIdToken } from "./verifyIdToken.ts";

/** @throws LoginError for every login failure; VerifierFault for bugs and misconfiguration. */
export async function exchangeAuthorizationCode(
  ctx: LoginClientContext,
  params: URLSearchParams,
  txn: LoginTransaction,
): Promise<LoginResult> {
  checkCallback(ctx, params, txn);
  const { options } = ctx;
  const callbackUrl = new URL(options.redirectUri);
  callbackUrl.search = params.toString();
  const grant = (config: client.Configuration) =>
    client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: txn.codeVerifier,
      expectedState: txn.state,
      expectedNonce: txn.nonce,
      ...(txn.maxAge !== undefined ? { maxAge: txn.maxAge } : {}),
    });
  const call = createTokenEndpointFetch(ctx.fetch, options.timeoutMs);
  const sentAt = Math.floor(ctx.clock.now() / 1000);
  let tokens: client.TokenEndpointResponse | undefined;
  let failure: unknown;
  try {
    tokens = await traceIdpCall(
      "code_exchange",
      options.providerName,
      "POST",
      ctx.tokenEndpoint,
      () => grant(configureCall(ctx, call)),
      options.observeIdpCall,
    );
  } catch (err) {
    failure = err;
  }
  if (call.failure !== undefined) throw call.failure;
  if (call.body !== undefined) {
    // A 200 answer: our verification decides the code, openid-client's verdict comes second.
    const idToken = call.body["id_token"];
    if (typeof idToken !== "string") throw new LoginError("id_token_invalid", "the token response has no ID token");
    const idTokenClaims = await verifyIdToken(idToken, idTokenExpectations(ctx, txn.nonce, "id_token_invalid"));
    if (tokens === undefined) {
      const reread = await rereadForIssuer(ctx, call.body, idTokenClaims, grant);
      tokens = reread.tokens;
      failure = reread.failure ?? failure;
    }
    if (tokens !== undefined) {
      return deepFreeze({
        idTokenClaims,
        idToken,
        accessToken: tokens.access_token,
        accessTokenExpiresAt: accessTokenExpiry(tokens.access_token, tokens.expires_in, sentAt),
        refreshToken: tokens.refresh_token ?? null,
        scope: tokens.scope ?? null,
      });
    }
  }
  throw mapGrantError(failure);
}

/** Order: state (in constant time), then iss, then the IdP's error, then the one code. */
function checkCallback(ctx: LoginClientContext, params: URLSearchParams, txn: LoginTransaction): void {
  if (txn.provider !== ctx.options.providerName) {
    throw new LoginError("state_mismatch", "the login transaction belongs to another provider");
  }
  const states = params.getAll("state");
  if (states.length !== 1 || !sameSecret(states[0], txn.state)) {
    throw new LoginError(
      "state_mismatch",
      states.length === 0 ? "the callback has no state" : "the callback's state is not the transaction's",
    );
  }
  checkResponseIssuer(ctx, params);
  if (params.has("error")) {
    const idpError = safeOAuthError(params.get("error"));
    throw new LoginError(
      "idp_error",
      `the IdP answered the authorization request with ${idpError ?? "an error code not shown"}`,
      { idpError },
    );
  }
  const codes = params.getAll("code");
  if (codes.length !== 1 || codes[0] === "") {
    throw new LoginError("idp_error", "the authorization response has no single code");
  }
  // Only plain code responses reach openid-client; it re-checks state and iss the same way.
  for (const name of ["response", "id_token", "token"]) {
    if (params.has(name))
      throw new LoginError("idp_error", `the authorization response carries an unexpected "${name}" parameter`);
  }
}

/** RFC 9207: required when advertised; when sent anyway it must still be right (§2.4). */
function checkResponseIssuer(ctx: LoginClientContext, params: URLSearchParams): void {
  const values = params.getAll("iss");
  if (values.length > 1) throw new LoginError("response_issuer_mismatch", "the callback has several iss parameters");
  const iss = values[0];
  if (iss === undefined) {
    if (ctx.options.metadata["authorization_response_iss_parameter_supported"] === true) {
      throw new LoginError(
        "response_issuer_mismatch",
        "the provider advertises iss in authorization responses and the callback has none",
      );
    }
    return;
  }
  // The tenant of a templated issuer is checked on the ID token, which must name the same one.
  if (!ctx.issuerPolicy.recognizes(iss))
    throw new LoginError("response_issuer_mismatch", "the callback's iss is not the provider's issuer");
}
