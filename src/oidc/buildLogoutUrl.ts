// The URL that ends the user's session at the IdP after Portcullis ended its own, by the provider's
// logout method: OIDC RP-initiated logout, Auth0's `/v2/logout` when OIDC logout is off, Cognito's
// hosted-UI `/logout`, or none (Google; `local`). null = only Portcullis's session ends.
// The ID token goes into the URL (`id_token_hint`) only where the provider says its IdP needs it:
// a URL ends up in browser history and in IdP and proxy logs. Otherwise `client_id` names us and
// `logout_hint` (RP-Initiated Logout 1.0 §2: the OP decides its meaning) names the session.
import type { LogoutMethod } from "../config/PortcullisConfig.ts";

export interface LogoutUrlInput {
  readonly method: LogoutMethod;
  /** Configured endpoint; null = the method's own rule. */
  readonly url: string | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly issuer: string;
  readonly clientId: string;
  /** The session's ID token: the source of logout_hint, and sent itself only with sendIdTokenHint. */
  readonly idTokenHint: string | null;
  readonly sendIdTokenHint: boolean;
  /** Already allowed by the redirect policy. */
  readonly postLogoutRedirectUri: string | null;
  readonly state?: string;
}

function withParams(endpoint: string, params: Record<string, string | null | undefined>): string | null {
  const url = URL.parse(endpoint);
  if (url === null) return null;
  for (const [name, value] of Object.entries(params)) if (typeof value === "string") url.searchParams.set(name, value);
  return url.href;
}

function rpInitiated(endpoint: unknown, input: LogoutUrlInput): string | null {
  if (typeof endpoint !== "string") return null;
  // client_id lets the IdP check the redirect even without a hint (OIDC RP-Initiated Logout 1.0 §2).
  return withParams(endpoint, {
    id_token_hint: input.sendIdTokenHint ? input.idTokenHint : null,
    logout_hint: input.sendIdTokenHint ? null : logoutHintOf(input.idTokenHint),
    post_logout_redirect_uri: input.postLogoutRedirectUri,
    state: input.state,
    client_id: input.clientId,
  });
}

/**
 * Entra's documented logout_hint is the ID token's `login_hint` claim; elsewhere the session id
 * (`sid`) is the hint RP-Initiated Logout names as an example. Read from our own session's ID token
 * (verified at login), never from a request.
 */
function logoutHintOf(idToken: string | null): string | null {
  if (idToken === null) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(idToken.split(".")[1] ?? "", "base64url").toString("utf8"));
    if (typeof claims !== "object" || claims === null) return null;
    const { login_hint: loginHint, sid } = claims as Record<string, unknown>;
    const hint = typeof loginHint === "string" ? loginHint : sid;
    return typeof hint === "string" && hint.length > 0 && hint.length <= 512 ? hint : null;
  } catch {
    return null;
  }
}

export function buildLogoutUrl(input: LogoutUrlInput): string | null {
  const { metadata } = input;
  switch (input.method) {
    case "local":
      return null;
    case "end_session":
      return rpInitiated(input.url ?? metadata["end_session_endpoint"], input);
    case "auth0": {
      // Tenants with RP-Initiated Logout enabled advertise it; the others only know /v2/logout.
      if (typeof metadata["end_session_endpoint"] === "string")
        return rpInitiated(metadata["end_session_endpoint"], input);
      const endpoint =
        input.url ?? new URL("v2/logout", input.issuer.endsWith("/") ? input.issuer : `${input.issuer}/`).href;
      return withParams(endpoint, { client_id: input.clientId, returnTo: input.postLogoutRedirectUri });
    }
    case "cognito": {
      // The hosted UI's domain is the authorization endpoint's; its /logout is not in discovery.
      const authorize =
        typeof metadata["authorization_endpoint"] === "string" ? URL.parse(metadata["authorization_endpoint"]) : null;
      const endpoint = input.url ?? (authorize === null ? null : `${authorize.origin}/logout`);
      return endpoint === null
        ? null
        : withParams(endpoint, { client_id: input.clientId, logout_uri: input.postLogoutRedirectUri });
    }
  }
}
