// The start of a login: the authorization URL (state, nonce, PKCE S256, the configured extra
// parameters first so none of the protocol's own can be replaced) and the transaction to seal.
import * as client from "openid-client";
import type { BeganLogin, BeginLoginInput, LoginTransaction } from "./LoginClient.ts";
import { configureCall, type LoginClientContext } from "./LoginClientContext.ts";

export async function beginAuthorization(ctx: LoginClientContext, input: BeginLoginInput): Promise<BeganLogin> {
  checkBeginInput(input);
  const { options } = ctx;
  const state = client.randomState();
  const nonce = client.randomNonce();
  const codeVerifier = client.randomPKCECodeVerifier();
  const params = new URLSearchParams({
    // First, so that nothing below can be replaced by configuration.
    ...options.authorizationParams,
    response_type: "code",
    redirect_uri: options.redirectUri,
    scope: options.scopes.join(" "),
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
  });
  if (input.acrValues !== undefined && input.acrValues.length > 0) params.set("acr_values", input.acrValues.join(" "));
  if (input.maxAge !== undefined) params.set("max_age", String(input.maxAge));
  if (input.prompt !== undefined) params.set("prompt", input.prompt);
  const url = client.buildAuthorizationUrl(configureCall(ctx), params);
  const transaction: LoginTransaction = {
    state,
    nonce,
    codeVerifier,
    returnTo: input.returnTo,
    provider: options.providerName,
    createdAt: Math.floor(ctx.clock.now() / 1000),
    ...(input.acrValues !== undefined && input.acrValues.length > 0 ? { acrValues: [...input.acrValues] } : {}),
    ...(input.maxAge !== undefined ? { maxAge: input.maxAge } : {}),
  };
  return { url: url.href, transaction };
}

function checkBeginInput(input: BeginLoginInput): void {
  const returnTo = URL.parse(input.returnTo);
  if (returnTo === null || (returnTo.protocol !== "https:" && returnTo.protocol !== "http:")) {
    throw new TypeError("begin(): returnTo must be an absolute http(s) URL");
  }
  if (input.maxAge !== undefined && !(Number.isSafeInteger(input.maxAge) && input.maxAge >= 0)) {
    throw new TypeError("begin(): maxAge must be a non-negative integer");
  }
}
