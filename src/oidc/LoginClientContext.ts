// What every step of one provider's login client shares: its options, fetch, clock and issuer
// policy, and openid-client's view of the provider. configureCall() makes the openid-client
// Configuration for one call; rereadForIssuer() replays an answer for a tenant or alias issuer.
import type { JWTPayload } from "jose";
import * as client from "openid-client";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import { createIssuerPolicy, type IssuerPolicy } from "./createIssuerPolicy.ts";
import { createTokenEndpointFetch, type TokenEndpointCall } from "./createTokenEndpointFetch.ts";
import type { LoginClientOptions } from "./LoginClient.ts";
import type { IdTokenExpectations } from "./verifyIdToken.ts";

export interface LoginClientContext {
  readonly options: LoginClientOptions;
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly clientAuth: client.ClientAuth;
  readonly serverMetadata: client.ServerMetadata;
  /** Checked by validateLoginClientOptions. */
  readonly tokenEndpoint: string;
  readonly issuerPolicy: IssuerPolicy;
}

export function createLoginClientContext(options: LoginClientOptions): LoginClientContext {
  return {
    options,
    fetch: options.fetch ?? fetch,
    clock: options.clock ?? systemClock,
    clientAuth: chooseClientAuth(options),
    serverMetadata: { ...options.metadata } as unknown as client.ServerMetadata,
    tokenEndpoint: options.metadata["token_endpoint"] as string,
    issuerPolicy: options.issuerPolicy ?? createIssuerPolicy({ issuer: options.issuer }),
  };
}

/**
 * A Configuration per call: openid-client keeps the fetch and its clock in it, and each call needs
 * its own fetch (to learn how the call failed) and our clock (as a skew from the real time, which is
 * what openid-client reads).
 */
export function configureCall(
  ctx: LoginClientContext,
  call?: TokenEndpointCall,
  concreteIssuer?: string,
): client.Configuration {
  const skewSeconds = Math.round((ctx.clock.now() - Date.now()) / 1000);
  const config = new client.Configuration(
    concreteIssuer === undefined ? ctx.serverMetadata : { ...ctx.serverMetadata, issuer: concreteIssuer },
    ctx.options.clientId,
    { [client.clockSkew]: skewSeconds, [client.clockTolerance]: ctx.options.clockToleranceSeconds },
    ctx.clientAuth,
  );
  if (ctx.options.allowInsecureHttp) client.allowInsecureRequests(config);
  if (call !== undefined) {
    config.timeout = call.timeoutMs / 1000;
    config[client.customFetch] = call.fetch;
  }
  return config;
}

export function idTokenExpectations(
  ctx: LoginClientContext,
  nonce: string | undefined,
  issuerMismatch: IdTokenExpectations["issuerMismatch"],
): IdTokenExpectations {
  const { options } = ctx;
  return {
    keys: options.keys,
    issuer: options.issuer,
    issuerPolicy: ctx.issuerPolicy,
    clientId: options.clientId,
    algorithms: options.algorithms,
    clockToleranceSeconds: options.clockToleranceSeconds,
    nowMs: ctx.clock.now(),
    nonce,
    issuerMismatch,
  };
}

/**
 * openid-client compares an ID token's `iss` with the metadata's issuer literally, so it refuses a
 * multi-tenant endpoint's tokens (the metadata names a `{tenantid}` template) and an issuer alias
 * (Google's `accounts.google.com`). Our verification has accepted this ID token's issuer (tenant
 * included), so openid-client's checks run again on the same answer, replayed without a second
 * request, against the issuer that token names.
 */
export async function rereadForIssuer<T>(
  ctx: LoginClientContext,
  body: Record<string, unknown>,
  idTokenClaims: JWTPayload,
  grant: (config: client.Configuration) => Promise<T>,
): Promise<{ tokens: T | undefined; failure: unknown }> {
  const concrete = ctx.issuerPolicy.issuerOf(idTokenClaims);
  if (concrete === null || concrete === ctx.serverMetadata.issuer) return { tokens: undefined, failure: undefined };
  const replay = createTokenEndpointFetch(
    async () => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } }),
    ctx.options.timeoutMs,
  );
  try {
    return { tokens: await grant(configureCall(ctx, replay, concrete)), failure: undefined };
  } catch (err) {
    return { tokens: undefined, failure: err };
  }
}

function chooseClientAuth(options: LoginClientOptions): client.ClientAuth {
  if (options.clientSecret === null) return client.None();
  // client_secret_basic is the default of RFC 8414 §2 when the provider lists nothing.
  const methods = options.metadata["token_endpoint_auth_methods_supported"];
  const postOnly =
    Array.isArray(methods) && !methods.includes("client_secret_basic") && methods.includes("client_secret_post");
  return postOnly ? client.ClientSecretPost(options.clientSecret) : client.ClientSecretBasic(options.clientSecret);
}
