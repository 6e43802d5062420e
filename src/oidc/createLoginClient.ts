// The relying-party side of the OIDC authorization-code flow for one provider: the authorization
// URL (state, nonce, PKCE S256), the callback (state, RFC 9207 iss, code exchange, ID token checks),
// single-flight refresh, and the RP-initiated logout URL. Failures are LoginErrors with a stable code.
//
// openid-client builds the URLs, authenticates the client and runs the grants (its response checks
// included); we add the checks it leaves out (state in constant time before anything else, the ID
// token's signature with the provider's keys and our algorithm allowlist), the timeout and body cap on
// every call (createTokenEndpointFetch), and the mapping of every outcome to a LoginError.
import { decodeJwt, type JWTPayload, type JWTVerifyGetKey } from "jose";
import * as client from "openid-client";
import { deepFreeze } from "../config/deepFreeze.ts";
import type { ProviderLogoutConfig } from "../config/PortcullisConfig.ts";
import { buildLogoutUrl } from "./buildLogoutUrl.ts";
import { MAX_NUMERIC_DATE } from "./checkTimeClaims.ts";
import { createIssuerPolicy, type IssuerPolicy } from "./createIssuerPolicy.ts";
import { createRefreshCoalescer } from "./createRefreshCoalescer.ts";
import { createTokenEndpointFetch, type TokenEndpointCall } from "./createTokenEndpointFetch.ts";
import { LoginError, safeOAuthError } from "./LoginError.ts";
import { mapGrantError } from "./mapGrantError.ts";
import { traceIdpCall } from "./traceIdpCall.ts";
import { sameSecret, verifyIdToken, type IdTokenExpectations } from "./verifyIdToken.ts";

/**
 * One pending login as this client makes and completes it. The session room seals the same shape
 * into its cookie (src/session/LoginTransaction.ts); the core hands it across, so oidc needs
 * nothing from the session room.
 */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Absolute URL to return to after login, already allowed by the redirect policy. */
  returnTo: string;
  provider: string;
  /** Epoch seconds. */
  createdAt: number;
  acrValues?: string[];
  maxAge?: number;
}

export interface LoginClientOptions {
  /** The provider's name in the config; recorded in (and required of) every transaction. */
  readonly providerName: string;
  readonly issuer: string;
  /** The provider's discovery document (its `issuer` must equal `issuer`). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The provider's signing keys, e.g. the registry's remote JWKS. */
  readonly keys: JWTVerifyGetKey;
  readonly clientId: string;
  /** null = public client: PKCE only, no client authentication. */
  readonly clientSecret: string | null;
  /** Absolute callback URL without query or fragment; sent verbatim in both requests. */
  readonly redirectUri: string;
  /** Must include `openid`. */
  readonly scopes: readonly string[];
  /** ID token signature algorithms accepted (asymmetric only); never taken from the token. */
  readonly algorithms: readonly string[];
  readonly clockToleranceSeconds: number;
  /** Timeout of every call to the IdP (the code exchange; refreshes too unless refreshTimeoutMs). */
  readonly timeoutMs: number;
  /** Timeout of a refresh, which usually runs while a request waits; defaults to timeoutMs. */
  readonly refreshTimeoutMs?: number;
  readonly allowInsecureHttp: boolean;
  readonly fetch?: typeof fetch;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  /** Which `iss` the provider's ID tokens may carry (aliases, `{tenantid}` templates); default: exactly `issuer`. */
  readonly issuerPolicy?: IssuerPolicy;
  /** Extra authorization-request parameters (Auth0 `audience`, Google `access_type`); never the protocol's own. */
  readonly authorizationParams?: Readonly<Record<string, string>>;
  /** How endSessionUrl ends the IdP's session; default: OIDC RP-initiated logout from discovery. */
  readonly logout?: ProviderLogoutConfig;
}

export interface BeginLoginInput {
  /** Absolute URL to return to after login, already allowed by the redirect policy. */
  readonly returnTo: string;
  readonly acrValues?: readonly string[];
  /** Seconds; the ID token must then carry an `auth_time` no older than this. */
  readonly maxAge?: number;
  readonly prompt?: string;
}

export interface BeganLogin {
  /** The authorization URL to redirect the browser to. */
  readonly url: string;
  /** To be sealed into the transaction cookie; holds the PKCE verifier, which never leaves it. */
  readonly transaction: LoginTransaction;
}

export interface LoginResult {
  /** Verified ID token claims. */
  readonly idTokenClaims: Readonly<JWTPayload>;
  readonly idToken: string;
  readonly accessToken: string;
  /** Epoch seconds: from expires_in, else the access token's own exp when it is a JWT, else now + 300. */
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | null;
  readonly scope: string | null;
}

export interface RefreshResult {
  /** Verified claims of the new ID token, or null when the IdP sent none. */
  readonly idTokenClaims: Readonly<JWTPayload> | null;
  readonly idToken: string | null;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  /** The rotated refresh token, or the one presented when the IdP did not rotate it. */
  readonly refreshToken: string;
  readonly scope: string | null;
}

export interface EndSessionInput {
  readonly idTokenHint: string | null;
  readonly postLogoutRedirectUri: string | null;
  readonly state?: string;
}

export interface LoginClient {
  begin(input: BeginLoginInput): Promise<BeganLogin>;
  /** @throws LoginError for every login failure; VerifierFault for bugs and misconfiguration. */
  complete(params: URLSearchParams, txn: LoginTransaction): Promise<LoginResult>;
  /**
   * Single-flight per refresh token; the outcome is remembered for REFRESH_MEMORY_MS.
   * @throws LoginError (invalid_grant ends the session; token_endpoint_unavailable may be retried)
   */
  refresh(refreshToken: string, expected: { readonly sub: string }): Promise<RefreshResult>;
  /** null when the provider has no end_session_endpoint. */
  endSessionUrl(input: EndSessionInput): string | null;
}

/** How long a refresh outcome is replayed to requests still carrying the pre-rotation token. */
export const REFRESH_MEMORY_MS = 60_000;
export const REFRESH_MEMORY_MAX_ENTRIES = 10_000;
/** When the IdP says nothing about the access token's lifetime. */
const DEFAULT_ACCESS_TOKEN_SECONDS = 300;
const FORBIDDEN_ALG = /^(none|HS\d+)$/i;

/** @throws TypeError for options no login could work with (checked once, at start-up). */
export function createLoginClient(options: LoginClientOptions): LoginClient {
  validateOptions(options);
  const { metadata, issuer, clientId } = options;
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const refreshTimeoutMs = options.refreshTimeoutMs ?? options.timeoutMs;
  const clientAuth = chooseClientAuth(options);
  const serverMetadata = { ...metadata } as unknown as client.ServerMetadata;
  const tokenEndpoint = metadata["token_endpoint"] as string; // checked by validateOptions
  const issuerPolicy = options.issuerPolicy ?? createIssuerPolicy({ issuer });

  /**
   * A Configuration per call: openid-client keeps the fetch and its clock in it, and each call needs
   * its own fetch (to learn how the call failed) and our injectable clock (as a clock skew).
   */
  function configure(call?: TokenEndpointCall, concreteIssuer?: string): client.Configuration {
    const skewSeconds = Math.round((now() - Date.now()) / 1000);
    const config = new client.Configuration(
      concreteIssuer === undefined ? serverMetadata : { ...serverMetadata, issuer: concreteIssuer },
      clientId,
      { [client.clockSkew]: skewSeconds, [client.clockTolerance]: options.clockToleranceSeconds },
      clientAuth,
    );
    if (options.allowInsecureHttp) client.allowInsecureRequests(config);
    if (call !== undefined) {
      config.timeout = call.timeoutMs / 1000;
      config[client.customFetch] = call.fetch;
    }
    return config;
  }

  function expectations(
    nonce: string | undefined,
    issuerMismatch: IdTokenExpectations["issuerMismatch"],
  ): IdTokenExpectations {
    return {
      keys: options.keys,
      issuer,
      issuerPolicy,
      clientId,
      algorithms: options.algorithms,
      clockToleranceSeconds: options.clockToleranceSeconds,
      nowMs: now(),
      nonce,
      issuerMismatch,
    };
  }

  async function refreshOnce(refreshToken: string): Promise<RefreshResult> {
    const call = createTokenEndpointFetch(fetchImpl, refreshTimeoutMs);
    const sentAt = Math.floor(now() / 1000);
    let tokens: client.TokenEndpointResponse | undefined;
    let failure: unknown;
    try {
      tokens = await traceIdpCall("refresh", options.providerName, "POST", tokenEndpoint, () =>
        client.refreshTokenGrant(configure(call), refreshToken),
      );
    } catch (err) {
      failure = err;
    }
    if (call.failure !== undefined) throw call.failure;
    // Signature and identity first: whatever else openid-client found, a foreign ID token ends the session.
    const idToken = call.body?.["id_token"];
    const idTokenClaims =
      typeof idToken === "string" ? await verifyIdToken(idToken, expectations(undefined, "subject_changed")) : null;
    if (tokens === undefined && idTokenClaims !== null && call.body !== undefined) {
      const reread = await rereadForIssuer(call.body, idTokenClaims, (config) =>
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

  const refreshes = createRefreshCoalescer<RefreshResult>({
    maxEntries: REFRESH_MEMORY_MAX_ENTRIES,
    rememberMs: REFRESH_MEMORY_MS,
    now,
    // An unreachable IdP may be retried; any answer from it is final for that refresh token
    // (it may have rotated the token before we failed, and a retry would be a reuse).
    isFinal: (err) => err instanceof LoginError && err.code !== "token_endpoint_unavailable",
  });

  return {
    async begin(input) {
      checkBeginInput(input);
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
      if (input.acrValues !== undefined && input.acrValues.length > 0)
        params.set("acr_values", input.acrValues.join(" "));
      if (input.maxAge !== undefined) params.set("max_age", String(input.maxAge));
      if (input.prompt !== undefined) params.set("prompt", input.prompt);
      const url = client.buildAuthorizationUrl(configure(), params);
      const transaction: LoginTransaction = {
        state,
        nonce,
        codeVerifier,
        returnTo: input.returnTo,
        provider: options.providerName,
        createdAt: Math.floor(now() / 1000),
        ...(input.acrValues !== undefined && input.acrValues.length > 0 ? { acrValues: [...input.acrValues] } : {}),
        ...(input.maxAge !== undefined ? { maxAge: input.maxAge } : {}),
      };
      return { url: url.href, transaction };
    },

    async complete(params, txn) {
      // Order: nothing in a response that is not bound to this transaction is acted on (state),
      // then the mix-up defence (iss), and only then what the IdP said.
      if (txn.provider !== options.providerName) {
        throw new LoginError("state_mismatch", "the login transaction belongs to another provider");
      }
      const states = params.getAll("state");
      if (states.length !== 1 || !sameSecret(states[0], txn.state)) {
        throw new LoginError(
          "state_mismatch",
          states.length === 0 ? "the callback has no state" : "the callback's state is not the transaction's",
        );
      }
      checkResponseIssuer(params);
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

      const callbackUrl = new URL(options.redirectUri);
      callbackUrl.search = params.toString();
      const call = createTokenEndpointFetch(fetchImpl, options.timeoutMs);
      const sentAt = Math.floor(now() / 1000);
      let tokens: client.TokenEndpointResponse | undefined;
      let failure: unknown;
      try {
        tokens = await traceIdpCall("code_exchange", options.providerName, "POST", tokenEndpoint, () =>
          client.authorizationCodeGrant(configure(call), callbackUrl, {
            pkceCodeVerifier: txn.codeVerifier,
            expectedState: txn.state,
            expectedNonce: txn.nonce,
            ...(txn.maxAge !== undefined ? { maxAge: txn.maxAge } : {}),
          }),
        );
      } catch (err) {
        failure = err;
      }
      if (call.failure !== undefined) throw call.failure;
      if (call.body !== undefined) {
        // A 200 answer: our verification decides the code, openid-client's verdict comes second.
        const idToken = call.body["id_token"];
        if (typeof idToken !== "string") throw new LoginError("id_token_invalid", "the token response has no ID token");
        const idTokenClaims = await verifyIdToken(idToken, expectations(txn.nonce, "id_token_invalid"));
        if (tokens === undefined) {
          const reread = await rereadForIssuer(call.body, idTokenClaims, (config) =>
            client.authorizationCodeGrant(config, callbackUrl, {
              pkceCodeVerifier: txn.codeVerifier,
              expectedState: txn.state,
              expectedNonce: txn.nonce,
              ...(txn.maxAge !== undefined ? { maxAge: txn.maxAge } : {}),
            }),
          );
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
    },

    async refresh(refreshToken, expected) {
      const result = await refreshes.run(refreshToken, () => refreshOnce(refreshToken));
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
        metadata,
        issuer,
        clientId,
        idTokenHint: input.idTokenHint,
        postLogoutRedirectUri: input.postLogoutRedirectUri,
        ...(input.state !== undefined ? { state: input.state } : {}),
      });
    },
  };

  /**
   * openid-client compares an ID token's `iss` with the metadata's issuer literally, so it refuses a
   * multi-tenant endpoint's tokens (the metadata names a `{tenantid}` template) and an issuer alias
   * (Google's `accounts.google.com`). Our verification has accepted this ID token's issuer (tenant
   * included), so openid-client's checks run again on the same answer, replayed without a second
   * request, against the issuer that token names.
   */
  async function rereadForIssuer<T>(
    body: Record<string, unknown>,
    idTokenClaims: JWTPayload,
    grant: (config: client.Configuration) => Promise<T>,
  ): Promise<{ tokens: T | undefined; failure: unknown }> {
    const concrete = issuerPolicy.issuerOf(idTokenClaims);
    if (concrete === null || concrete === serverMetadata.issuer) return { tokens: undefined, failure: undefined };
    const replay = createTokenEndpointFetch(
      async () => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } }),
      options.timeoutMs,
    );
    try {
      return { tokens: await grant(configure(replay, concrete)), failure: undefined };
    } catch (err) {
      return { tokens: undefined, failure: err };
    }
  }

  /** RFC 9207: required when advertised; when sent anyway it must still be right (§2.4). */
  function checkResponseIssuer(params: URLSearchParams): void {
    const values = params.getAll("iss");
    if (values.length > 1) throw new LoginError("response_issuer_mismatch", "the callback has several iss parameters");
    const iss = values[0];
    if (iss === undefined) {
      if (metadata["authorization_response_iss_parameter_supported"] === true) {
        throw new LoginError(
          "response_issuer_mismatch",
          "the provider advertises iss in authorization responses and the callback has none",
        );
      }
      return;
    }
    // The tenant of a templated issuer is checked on the ID token, which must name the same one.
    if (!issuerPolicy.recognizes(iss))
      throw new LoginError("response_issuer_mismatch", "the callback's iss is not the provider's issuer");
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

/** Epoch seconds, counted from when the request was sent (the conservative end). */
function accessTokenExpiry(accessToken: string, expiresIn: number | undefined, sentAt: number): number {
  if (typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn >= 0) {
    return Math.min(sentAt + Math.floor(expiresIn), MAX_NUMERIC_DATE);
  }
  try {
    // Unverified on purpose: the access token is for APIs; its exp only schedules our refresh.
    const exp = decodeJwt(accessToken).exp;
    if (typeof exp === "number" && Number.isFinite(exp) && exp > 0 && exp <= MAX_NUMERIC_DATE) return Math.floor(exp);
  } catch {
    // Not a JWT: opaque access tokens are common.
  }
  return sentAt + DEFAULT_ACCESS_TOKEN_SECONDS;
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

function validateOptions(options: LoginClientOptions): void {
  const where = `login client for provider ${JSON.stringify(options.providerName)}`;
  const { metadata } = options;
  if (
    metadata["issuer"] !== options.issuer &&
    options.issuerPolicy?.acceptsDiscoveryIssuer(metadata["issuer"]) !== true
  )
    throw new TypeError(`${where}: the discovery document's issuer is not the configured issuer`);
  if (options.clientId.length === 0) throw new TypeError(`${where}: clientId must not be empty`);
  if (!options.scopes.includes("openid")) throw new TypeError(`${where}: scopes must include "openid"`);
  const usable = options.algorithms.filter((alg) => !FORBIDDEN_ALG.test(alg));
  if (usable.length === 0 || usable.length !== options.algorithms.length) {
    throw new TypeError(`${where}: algorithms must be a non-empty list of asymmetric algorithms`);
  }
  for (const [name, value] of [
    ["timeoutMs", options.timeoutMs],
    ["refreshTimeoutMs", options.refreshTimeoutMs ?? options.timeoutMs],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`${where}: ${name} must be a positive number`);
  }
  if (!(Number.isFinite(options.clockToleranceSeconds) && options.clockToleranceSeconds >= 0)) {
    throw new TypeError(`${where}: clockToleranceSeconds must be a non-negative number`);
  }
  const redirect = URL.parse(options.redirectUri);
  if (
    redirect === null ||
    redirect.search !== "" ||
    redirect.hash !== "" ||
    (redirect.protocol !== "https:" && redirect.protocol !== "http:")
  ) {
    throw new TypeError(`${where}: redirectUri must be an absolute http(s) URL without query or fragment`);
  }
  for (const [name, required] of [
    ["authorization_endpoint", true],
    ["token_endpoint", true],
    ["end_session_endpoint", false],
  ] as const) {
    const value = metadata[name];
    if (value === undefined && !required) continue;
    const url = typeof value === "string" ? URL.parse(value) : null;
    if (url === null) throw new TypeError(`${where}: the discovery document's ${name} is not an absolute URL`);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && options.allowInsecureHttp)) {
      throw new TypeError(`${where}: the discovery document's ${name} is not https (allowInsecureHttp is off)`);
    }
  }
}
