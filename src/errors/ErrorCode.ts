// Every error Portcullis answers on an HTTP surface, by stable code: its one status, the OAuth
// (RFC 6749 / RFC 6750 / RFC 9470) `error` value where one applies, the public description a client or
// browser may read (the log holds the detail), and the surfaces that answer it. Every code type is
// derived from this table, so a code cannot exist without its row; docs/errors.md is generated from it.
// (Over 350 lines: it is one table, one row per code, and reads best whole.)

/** Where an error is answered. */
export type Surface =
  "check" | "callback" | "start" | "sign_out" | "backchannel_logout" | "auth_listener" | "admin_api";

export type OAuthError =
  | "invalid_token"
  | "invalid_request"
  | "insufficient_scope"
  | "insufficient_user_authentication"
  | "temporarily_unavailable"
  // RFC 9449 §7.1 and §9: the DPoP challenge's errors.
  | "invalid_dpop_proof"
  | "use_dpop_nonce";

export interface ErrorSpec {
  readonly status: 302 | 400 | 401 | 403 | 404 | 405 | 409 | 502 | 503;
  /**
   * On the Check, the RFC 6750 / RFC 9470 `error` of WWW-Authenticate (the JSON body names our code);
   * on the auth listener's JSON answers, the body's `error` (RFC 6749 section 5.2).
   */
  readonly oauthError?: OAuthError;
  /** What a client or browser may read: a lower-case clause without a final stop; never detail. */
  readonly description: string;
  readonly surfaces: readonly Surface[];
  /** For the generated reference: when the code is answered (for operators, may name config keys). */
  readonly when: string;
  /**
   * Raised below the surface that answers it: by bearer-token verification (`TokenErrorCode`) or by
   * the login client's code exchange or refresh (`LoginErrorCode`, also the logged reason a refresh
   * ended a session).
   */
  readonly raisedBy?: "token verification" | "login client";
}

const TABLE = {
  token_missing: {
    status: 401,
    description: "a bearer token is required",
    surfaces: ["check"],
    when: "no bearer token on a route that requires one (no `Authorization` header, or another scheme such as Basic)",
  },
  api_key_invalid: {
    status: 401,
    description: "the API key is not valid",
    surfaces: ["check"],
    when: "on a route with `apiKeys: true`, a key (in `apiKeys.header` or `apiKeys.queryParameter`) that matches no configured digest, is malformed or longer than 256 characters, or is sent in both places; the challenge is the route's plain `Bearer` one, without an `error` (the key is not a token)",
  },
  token_malformed: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token is not a well-formed JWT",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "a `Bearer` header whose token is empty, has characters outside RFC 6750's b64token, or is not a compact JWS",
  },
  token_expired: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token has expired",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "`exp` is past (beyond the clock tolerance)",
  },
  token_not_yet_valid: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token is not valid yet",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "`nbf` is in the future",
  },
  token_issued_in_future: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token was issued in the future",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "`iat` is in the future",
  },
  token_lifetime_too_long: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token was issued for too long a lifetime",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "`exp` − `iat` exceeds the provider's `maxTokenLifetimeSeconds`, or the token lacks `iat` or `exp` while that limit is set",
  },
  subject_not_allowed: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token subject is not accepted",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "`sub` is missing or not one of the provider's `subjects`",
  },
  signature_invalid: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token signature is invalid",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "the signature does not verify",
  },
  alg_not_allowed: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token algorithm is not allowed",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "the header `alg` is not in the provider's allowlist (`none` and HMAC never are)",
  },
  key_not_found: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token was signed by an unknown key",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "no key with that `kid`, even after a refetch of the JWKS",
  },
  issuer_mismatch: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token issuer is not accepted",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "`iss` is not a provider this route accepts",
  },
  audience_mismatch: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token audience is not accepted",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "`aud` has none of the provider's audiences",
  },
  type_not_allowed: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token type is not accepted",
    surfaces: ["check"],
    raisedBy: "token verification",
    when:
      "not an access token presented by its holder: `typ` is not `at+jwt` where the provider requires it, an ID, " +
      "logout or refresh token (`nonce`, `at_hash`, `c_hash`, an ID `typ`), or a sender-constrained token (`cnf`: " +
      "DPoP, mTLS) sent as a plain bearer token",
  },
  token_binding_mismatch: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token is bound to another certificate or key",
    surfaces: ["check"],
    when: "a certificate-bound token (`cnf.x5t#S256`, RFC 8705) presented with a client certificate of another thumbprint",
  },
  bound_token_required: {
    status: 401,
    oauthError: "invalid_token",
    description: "this route requires a sender-constrained token",
    surfaces: ["check"],
    when:
      "a plain bearer token (no `cnf`), or one bound by another method, on a route whose `require.boundTokens` (or its " +
      "provider's `boundTokens`) demands `mtls`, `dpop` or `any`",
  },
  invalid_dpop_proof: {
    status: 401,
    oauthError: "invalid_dpop_proof",
    description: "the DPoP proof is missing or invalid",
    surfaces: ["check"],
    when:
      "a DPoP-bound token (`cnf.jkt`, RFC 9449) sent as `Authorization: DPoP` without one valid `DPoP` proof of " +
      "this request: signature, `typ`, `alg` (`providers.<name>.dpop.algorithms`), key thumbprint = `cnf.jkt`, " +
      "`htm`, `htu`, `iat` within `dpop.proofMaxAgeSeconds`, `ath`, a `jti` not seen before (a replay)",
  },
  use_dpop_nonce: {
    status: 401,
    oauthError: "use_dpop_nonce",
    description: "the DPoP proof must carry the nonce this server provides",
    surfaces: ["check"],
    when:
      "the provider requires nonces (`providers.<name>.dpop.nonce.required`) and the proof has none, or a stale " +
      "one: the `DPoP-Nonce` response header carries the one to use",
  },
  dpop_replay_unavailable: {
    status: 503,
    description: "the proof of possession could not be checked; retry later",
    surfaces: ["check"],
    when:
      "the DPoP replay store could not tell whether the proof was used before (Redis down or slow, or the " +
      "in-memory store full of unexpired proofs): refused rather than risk a replay",
  },
  claims_invalid: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token claims are invalid",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "a required claim is missing or not a sane value (e.g. no `exp`)",
  },
  jwks_unavailable: {
    status: 503,
    description: "the identity provider's keys are unavailable",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "the provider's keys are not loaded yet, or a refetch for an unknown `kid` failed: no loaded key can decide",
  },
  token_inactive: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token is not active",
    surfaces: ["check"],
    raisedBy: "token verification",
    when: "introspection says the opaque token is not active (revoked, expired, unknown)",
  },
  token_revoked: {
    status: 401,
    oauthError: "invalid_token",
    description: "the token has been revoked",
    surfaces: ["check"],
    when:
      "a verified bearer token (JWT or introspected) whose IdP session (`sid`) a back-channel logout ended, or whose " +
      "user (`sub`) was logged out everywhere at or after the token's `iat` (a token without `iat` counts as issued " +
      "before); shared by every replica through `redis`",
  },
  login_required: {
    status: 302,
    description: "sign-in is required; the browser is sent to the identity provider",
    surfaces: ["check"],
    when: "a browser without a session (or needing a step-up) is sent to the IdP to log in",
  },
  session_invalid: {
    status: 401,
    description: "the session has ended; sign in again",
    surfaces: ["check"],
    when: "an API client's session cookie is tampered, expired or sealed with an unknown key, or its refresh failed",
  },
  insufficient_scope: {
    status: 403,
    oauthError: "insufficient_scope",
    description: "the token lacks a scope this route requires",
    surfaces: ["check"],
    when: "the caller lacks a scope the route requires (`WWW-Authenticate` names it in `scope`)",
  },
  requirement_failed: {
    status: 403,
    oauthError: "insufficient_scope",
    description: "the caller does not meet this route's requirements",
    surfaces: ["check"],
    when: "the caller fails another requirement of the route (role, group, claim, client, principal, audience)",
  },
  request_condition_failed: {
    status: 403,
    description: "this request does not meet the route's conditions",
    surfaces: ["check"],
    when: "the request fails a condition of the route's `require.request` (or of `policy.defaults.require.request`): a header, query parameter, source address, TLS SNI or time window; refused before any credential is read, without a challenge (no token or login would help)",
  },
  policy_denied: {
    status: 403,
    oauthError: "insufficient_scope",
    description: "access to this route is denied by policy",
    surfaces: ["check"],
    when: "a deny rule of the route applies (`routes[].deny`); the JSON body's `error` is the rule's own `code` and the status its `status` (403, 404 or 401), this code is the metric reason",
  },
  step_up_required: {
    status: 401,
    oauthError: "insufficient_user_authentication",
    description: "a stronger or more recent authentication is required",
    surfaces: ["check"],
    when: "the authentication is too weak or too old for the route (`acr_values` / `max_age` in `WWW-Authenticate`, RFC 9470)",
  },
  idp_unavailable: {
    status: 503,
    description: "the identity provider could not be reached",
    surfaces: ["check", "callback", "start"],
    when:
      "the provider is needed (login, refresh of an expired token) but not reachable; on the callback and " +
      "`/oauth2/start`, its discovery or keys are not loaded yet",
  },
  session_store_unavailable: {
    status: 503,
    description: "sessions cannot be read right now; please try again shortly",
    surfaces: ["check", "callback", "admin_api"],
    when:
      "the request carries a session but the session store (Redis) cannot be reached, or the callback cannot store " +
      "the new session; bearer tokens are unaffected. On the admin API: Redis did not answer (an ended session or " +
      "user is already refused by the replica that answered; retry to reach every replica)",
  },
  token_exchange_refused: {
    status: 403,
    description: "the identity provider refused a token for the service behind this route",
    surfaces: ["check"],
    when:
      "a route with `exchange` enabled: the provider answered the token exchange (RFC 8693) with an OAuth error " +
      "(the caller's token may not be exchanged for this audience, or is no longer valid at the provider), or " +
      "`exchange.provider` is not the provider that verified the caller",
  },
  token_exchange_unavailable: {
    status: 503,
    description: "a token for the service behind this route could not be obtained right now",
    surfaces: ["check"],
    when:
      "a route with `exchange` enabled: the token endpoint was not reachable in `exchange.timeoutMs`, answered 5xx " +
      "or something that is not a Bearer access token, refused Portcullis's own client (`invalid_client`), or the " +
      "provider is not loaded yet",
  },
  path_invalid: {
    status: 400,
    description: "the request path is not acceptable",
    surfaces: ["check"],
    when:
      "the path cannot be normalised safely (encoded slash, bad escape, control character) or has a shape upstreams " +
      "read as another path: `;`/`%3B` path parameters, `%25`, a segment ending in `.` or `%20`, escapes that are " +
      "not UTF-8 (see `policy.allowPathShapes`); behind nginx, Caddy or Traefik, whose upstream gets the target as " +
      "sent, also a forwarded URI with a dot segment, an empty segment (`//`) or a `#`",
  },
  host_invalid: {
    status: 400,
    description: "the request's host is not acceptable",
    surfaces: ["check"],
    when:
      "the Host / `:authority` is not one `host[:port]`: two ports, `@`, `,`, an empty label (`a..b`, " +
      "`localhost..`), an unbracketed IPv6 literal, an empty host, a port outside 1..65535",
  },
  route_not_found: {
    status: 403,
    description: "no route allows this request",
    surfaces: ["check"],
    when: "no route matches the host and path",
  },
  forward_auth_peer_untrusted: {
    status: 403,
    description: "this endpoint answers only the configured proxies",
    surfaces: ["check"],
    when:
      "a forward-auth request (`forwardAuth.path`) from an address outside `forwardAuth.trustedProxies`, or one " +
      "whose forwarded method, URI, host or scheme header is missing, repeated or malformed",
  },
  internal_error: {
    status: 503,
    description: "the request could not be authorized",
    surfaces: ["check", "callback", "auth_listener", "admin_api"],
    when: "an unexpected fault; the request is denied and the fault logged once",
  },
  state_missing: {
    status: 400,
    description: "this sign-in link is incomplete or has expired",
    surfaces: ["callback"],
    when: "the callback has no `state` (or an absurdly long one), and no `error` from the IdP",
  },
  state_mismatch: {
    status: 400,
    description: "this sign-in attempt is unknown or has expired; please try again",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "no pending login of this browser (its transaction cookie) has this `state`; nothing is sent to the IdP",
  },
  callback_replayed: {
    status: 400,
    description: "this sign-in attempt was already used; please try again",
    surfaces: ["callback"],
    when: "the `state` was already used by a callback, even with a copy of the transaction cookie",
  },
  idp_error: {
    status: 400,
    description: "the identity provider did not sign you in",
    surfaces: ["callback"],
    raisedBy: "login client",
    when:
      "the IdP answered the login with `error=` (the page names that OAuth error when it is a plain code, e.g. " +
      "`access_denied` when the user cancels), or with no code",
  },
  acr_not_met: {
    status: 400,
    description: "the identity provider did not confirm the stronger sign-in this page needs",
    surfaces: ["callback"],
    when: "a step-up login's ID token has no `acr` among the `acr_values` asked for",
  },
  scope_not_granted: {
    status: 403,
    description: "the identity provider did not grant the permission this page needs",
    surfaces: ["callback"],
    when: "an incremental consent login (`providers.<name>.consentScopes`) ended with a session that lacks a scope it asked for: the IdP refused or ignored it (the browser is not sent back again)",
  },
  response_issuer_mismatch: {
    status: 400,
    description: "the sign-in response could not be accepted; please try again",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "RFC 9207: the provider advertises `iss` in authorization responses and it is missing or wrong",
  },
  id_token_invalid: {
    status: 400,
    description: "the sign-in response could not be accepted; please try again",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "the ID token failed a check: signature, algorithm allowlist, `iss`, `aud`, `azp`, `exp`, `iat`, `auth_time`",
  },
  nonce_mismatch: {
    status: 400,
    description: "the sign-in response could not be accepted; please try again",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "the ID token's `nonce` is not the one the login sent",
  },
  invalid_grant: {
    status: 400,
    description: "the sign-in response could not be accepted; please try again",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "the token endpoint refused the code or refresh token (used, expired, revoked)",
  },
  subject_changed: {
    status: 400,
    description: "the sign-in response could not be accepted; please try again",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "a refresh returned an ID token for another subject or issuer: the session ends",
  },
  token_endpoint_error: {
    status: 502,
    description: "the identity provider refused to complete the sign-in",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "any other refusal or malformed answer from the token endpoint (e.g. `invalid_client`)",
  },
  token_endpoint_unavailable: {
    status: 503,
    description: "the identity provider could not be reached",
    surfaces: ["callback"],
    raisedBy: "login client",
    when: "the token endpoint (or the provider's signing keys) could not be reached in time: network error, timeout or 5xx",
  },
  session_too_large: {
    status: 502,
    description: "your identity is too large to keep in a session cookie",
    surfaces: ["callback"],
    when: "the new session does not fit the cookie store's chunks (use the Redis store, or fewer claims)",
  },
  login_not_configured: {
    status: 400,
    description: "browser login is not configured",
    surfaces: ["start"],
    when: "no provider has a `clientId` and `redirectUri`",
  },
  redirect_not_allowed: {
    status: 400,
    description: "the return address is not allowed",
    surfaces: ["start", "sign_out"],
    when: "`rd` (or `session.postLogoutRedirect`) is not on the login origin or in `session.allowedRedirectOrigins`",
  },
  signout_origin_untrusted: {
    status: 403,
    description: "sign out from the application's own sign-out page",
    surfaces: ["sign_out"],
    when: "the sign-out POST has no `Origin`, or one that is neither a login origin nor an allowed redirect origin",
  },
  signout_form_unreadable: {
    status: 400,
    description: "the sign-out form could not be read",
    surfaces: ["sign_out"],
    when: "the sign-out POST is not a small `application/x-www-form-urlencoded` form",
  },
  signout_unavailable: {
    status: 503,
    description: "we could not sign you out right now; please try again",
    surfaces: ["sign_out"],
    when:
      "the session store or the shared revocation list did not answer: this replica refuses the session, the " +
      "cookie is kept, and the page's Try again link finishes the sign-out",
  },
  logout_request_invalid: {
    status: 400,
    oauthError: "invalid_request",
    description: "expected one logout_token form parameter",
    surfaces: ["backchannel_logout"],
    when: "the POST does not carry exactly one non-empty `logout_token`",
  },
  logout_token_invalid: {
    status: 400,
    oauthError: "invalid_request",
    description: "the logout token was not accepted",
    surfaces: ["backchannel_logout"],
    when:
      "the logout token failed verification (signature, `iss`, `aud`, `iat`, `jti`, `events`, `sid`/`sub`, no " +
      "`nonce`, `typ`), was replayed, or back-channel logout is not available",
  },
  logout_unavailable: {
    status: 503,
    oauthError: "temporarily_unavailable",
    description: "the logout could not be recorded; retry later",
    surfaces: ["backchannel_logout"],
    when:
      "the provider's keys could not be fetched, or the session store did not confirm the logout; " +
      "`Retry-After` says when to post it again",
  },
  not_found: {
    status: 404,
    description: "no such endpoint",
    surfaces: ["auth_listener", "admin_api"],
    when:
      "a path the auth listener does not serve (every path, when browser login is not configured); a path under " +
      "`/admin/` the admin API does not serve",
  },
  method_not_allowed: {
    status: 405,
    description: "use a method the Allow header names",
    surfaces: ["auth_listener", "admin_api"],
    when: "an endpoint asked with a method it does not take; `Allow` lists those it takes",
  },
  admin_token_invalid: {
    status: 401,
    description: "a valid admin token is required",
    surfaces: ["admin_api"],
    when:
      "an admin API request without `Authorization: Bearer <admin.api.token>`, or with another token (compared in " +
      "constant time, never logged)",
  },
  admin_request_invalid: {
    status: 400,
    description: "the admin request is not valid",
    surfaces: ["admin_api"],
    when:
      "a missing or malformed `sub`, an unknown `provider`, a handle that is not one the listing gives, or a body " +
      "that is not a small JSON object; the answer's `detail` says which",
  },
  session_not_found: {
    status: 404,
    description: "no live session has this handle",
    surfaces: ["admin_api"],
    when: "`DELETE /admin/sessions/{handle}` for a session that ended, expired or never existed",
  },
  sessions_not_listable: {
    status: 409,
    description: "listing sessions needs the Redis session store",
    surfaces: ["admin_api"],
    when:
      "`GET /admin/sessions` or `DELETE /admin/sessions/{handle}` with `session.store: cookie`: cookie sessions " +
      "live in the browser; ending all of a user's sessions (`POST /admin/users/revoke`) still works",
  },
  admin_needs_redis: {
    status: 409,
    description: "the admin api of a serve --workers supervisor needs Redis",
    surfaces: ["admin_api"],
    when:
      "`serve --workers` without `redis`: the supervisor answers the admin API and could only record a revocation " +
      "in its own memory, which no worker reads",
  },
} as const satisfies { readonly [code: string]: ErrorSpec };

type Table = typeof TABLE;

export type ErrorCode = keyof Table;

/** Every row, read as plain specs (the literal types above are for deriving the code types). */
export const ERROR_CODES: { readonly [C in ErrorCode]: ErrorSpec } = TABLE;

/** The codes a surface answers. */
export type CodeOn<S extends Surface> = {
  [C in ErrorCode]: S extends Table[C]["surfaces"][number] ? C : never;
}[ErrorCode];

/** Codes raised by bearer-token verification or by the login client. */
export type CodeRaisedBy<R extends NonNullable<ErrorSpec["raisedBy"]>> = {
  [C in ErrorCode]: Table[C] extends { readonly raisedBy: R } ? C : never;
}[ErrorCode];

/** Why a Check is denied: the `reason` metric label and the `error` of a denial body. */
export type DenialCode = CodeOn<"check">;

/** Every way a bearer token can fail verification. */
export type TokenErrorCode = CodeRaisedBy<"token verification">;

/** Every way the login client's code exchange or refresh fails. */
export type LoginErrorCode = CodeRaisedBy<"login client">;

/** The codes a surface answers, in table order. */
export function codesOn<S extends Surface>(surface: S): ReadonlyArray<CodeOn<S>> {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) =>
    ERROR_CODES[code].surfaces.includes(surface),
  ) as Array<CodeOn<S>>;
}

/** Codes raised below their surface, in table order. */
export function codesRaisedBy<R extends NonNullable<ErrorSpec["raisedBy"]>>(
  raisedBy: R,
): ReadonlyArray<CodeRaisedBy<R>> {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => ERROR_CODES[code].raisedBy === raisedBy) as Array<
    CodeRaisedBy<R>
  >;
}
