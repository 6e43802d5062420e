// What the development IdP is given and what it hands back: its options, its live call counters
// and the handle tests and the demo use to mint tokens and stop it.

import type { SigningJwk } from "./createSigningJwk.ts";
import type { LoginFacts } from "./demoAccounts.ts";

export interface DevIdpOptions {
  /** Private signing JWKs; the first signs. Restart with a new set on the same port to rotate. */
  readonly signingKeys: readonly SigningJwk[];
  /** 0 (default) = ephemeral. */
  readonly port?: number;
  readonly audience?: string;
  /** Secret of the client-credentials client `demo-cli`; random per run when absent. */
  readonly cliClientSecret?: string;
  /** Secret of the client-credentials client `demo-batch`; random per run when absent. */
  readonly batchClientSecret?: string;
  readonly webClientSecret?: string;
  /** Secret of the token-exchange client `demo-exchange`; random per run when absent. */
  readonly exchangeClientSecret?: string;
  /** Redirect URIs of the browser client `demo-web` (authorization code + PKCE). */
  readonly webRedirectUris?: readonly string[];
  readonly webPostLogoutRedirectUris?: readonly string[];
  /**
   * Where the IdP posts OpenID Connect back-channel logout tokens for `demo-web` when a user's IdP
   * session ends (ID tokens then carry `sid`); absent = no back-channel logout.
   */
  readonly webBackchannelLogoutUri?: string;
  /** Access tokens of every grant (default 600). */
  readonly accessTokenTtlSeconds?: number;
  /** ID tokens (default 3600). */
  readonly idTokenTtlSeconds?: number;
  /** Refresh tokens, each rotation starting anew (default 86400). */
  readonly refreshTokenTtlSeconds?: number;
  /** Format of the API access tokens the grants issue (default jwt; opaque ones need introspection). */
  readonly accessTokenFormat?: "jwt" | "opaque";
  /** When set, POST {MINT_USER_TOKEN_PATH} with `Authorization: Bearer <mintSecret>` mints user tokens. */
  readonly mintSecret?: string;
}

/** Calls counted as they reach the IdP (failed ones too), for tests of caching and single-flight. */
export interface DevIdpCounts {
  /** POSTs to the token endpoint, every grant type. */
  token: number;
  /** The same POSTs by grant_type; "unknown" when the body named none. */
  tokenByGrant: {
    authorization_code: number;
    refresh_token: number;
    client_credentials: number;
    [grantType: string]: number;
  };
  /** POSTs to the introspection endpoint. */
  introspection: number;
  /** Requests to the end_session_endpoint (RP-initiated logout), not its confirmation step. */
  endSession: number;
  /** Requests to the authorization endpoint, not the resumes after a login. */
  authorization: number;
  /** Back-channel logout tokens posted to the web client's back-channel URL: answered 200, or not. */
  backchannelLogouts: { sent: number; failed: number };
}

export interface MachineClient {
  readonly id: string;
  readonly secret: string;
}

export interface DevIdp {
  readonly issuer: string;
  readonly port: number;
  readonly audience: string;
  /** The resource indicator (RFC 8707) that selects the API audience. */
  readonly resource: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly endSessionEndpoint: string;
  readonly cliClient: MachineClient;
  readonly batchClient: MachineClient;
  readonly webClient: MachineClient;
  /** May exchange access tokens (RFC 8693) for the `demo-orders` audience. */
  readonly exchangeClient: MachineClient;
  /** Live counters; resetCounts() sets them to zero. */
  readonly counts: Readonly<DevIdpCounts>;
  resetCounts(): void;
  /**
   * A JWT access token for a demo user as if issued to demo-web. `login` says how the user signed in
   * (default: a password login now, LOA 1); it becomes acr, amr and auth_time.
   */
  mintUserToken(user: string, scopes?: readonly string[], login?: Partial<LoginFacts>): Promise<string>;
  /** The same as an opaque token (for introspection), audience = the API. */
  opaqueToken(user: string, scopes?: readonly string[], login?: Partial<LoginFacts>): Promise<string>;
  /** A token from the client-credentials grant over HTTP; default scopes: all the client may have. */
  clientCredentialsToken(scopes?: readonly string[], clientId?: string): Promise<string>;
  close(): Promise<void>;
}
