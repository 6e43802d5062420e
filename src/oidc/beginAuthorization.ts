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
    scope: scopeParameter(options.scopes, input),
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
    ...(input.scopes !== undefined && input.scopes.add.length > 0 ? { scopes: [...input.scopes.add] } : {}),
  };
  return { url: url.href, transaction };
}

/** The configured scopes first, then a consent's kept and added ones: each once, none dropped. */
function scopeParameter(configured: readonly string[], input: BeginLoginInput): string {
  if (input.scopes === undefined) return configured.join(" ");
  return [...new Set([...configured, ...input.scopes.keep, ...input.scopes.add])].join(" ");
}

function checkBeginInput(input: BeginLoginInput): void {
  const returnTo = URL.parse(input.returnTo);
  if (returnTo === null || (returnTo.protocol !== "https:" && returnTo.protocol !== "http:")) {
    throw new TypeError("begin(): returnTo must be an absolute http(s) URL");
  }
  if (input.maxAge !== undefined && !(Number.isSafeInteger(input.maxAge) && input.maxAge >= 0)) {
    throw new TypeError("begin(): maxAge must be a non-negative integer");
  }
  // Scopes reach the authorization URL: only RFC 6749 scope tokens, so none can smuggle a parameter.
  const scopes = input.scopes === undefined ? [] : [...input.scopes.add, ...input.scopes.keep];
  if (!scopes.every((scope) => /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)))
    throw new TypeError("begin(): a scope must be an RFC 6749 scope token");
}
