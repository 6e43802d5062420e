// The URL that ends the user's session at the IdP after Portcullis ended its own, by the provider's
// logout method: OIDC RP-initiated logout, Auth0's `/v2/logout` when OIDC logout is off, Cognito's
// hosted-UI `/logout`, or none (Google; `local`). null = only Portcullis's session ends.
import type { LogoutMethod } from "../config/PortcullisConfig.ts";

export interface LogoutUrlInput {
  readonly method: LogoutMethod;
  /** Configured endpoint; null = the method's own rule. */
  readonly url: string | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly issuer: string;
  readonly clientId: string;
  readonly idTokenHint: string | null;
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
    id_token_hint: input.idTokenHint,
    post_logout_redirect_uri: input.postLogoutRedirectUri,
    state: input.state,
    client_id: input.clientId,
  });
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
      if (typeof metadata["end_session_endpoint"] === "string") return rpInitiated(metadata["end_session_endpoint"], input);
      const endpoint = input.url ?? new URL("v2/logout", input.issuer.endsWith("/") ? input.issuer : `${input.issuer}/`).href;
      return withParams(endpoint, { client_id: input.clientId, returnTo: input.postLogoutRedirectUri });
    }
    case "cognito": {
      // The hosted UI's domain is the authorization endpoint's; its /logout is not in discovery.
      const authorize = typeof metadata["authorization_endpoint"] === "string" ? URL.parse(metadata["authorization_endpoint"]) : null;
      const endpoint = input.url ?? (authorize === null ? null : `${authorize.origin}/logout`);
      return endpoint === null ? null : withParams(endpoint, { client_id: input.clientId, logout_uri: input.postLogoutRedirectUri });
    }
  }
}
