// A session from fresh tokens, after a completed login or a refresh. `previous` (on a refresh)
// keeps what the IdP does not resend: who signed in, how, when, and the session's own lifetime.
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import { LoginError } from "../oidc/LoginError.ts";
import { CONSENTED_SCOPES_MAX, type Session } from "../session/Session.ts";
import { composeSessionClaims } from "./composeSessionClaims.ts";
import type { BrowserLogin } from "./createBrowserLogin.ts";
import type { TokenResult } from "./LoginClientPort.ts";

export async function buildSession(
  login: BrowserLogin,
  provider: string,
  tokens: TokenResult,
  previous: Session | null,
  /** A login's incremental consent: the scopes it added (its transaction's); a refresh keeps the previous ones. */
  consented: readonly string[] = [],
): Promise<Session> {
  const issuer = (login.providers.get(provider) as ProviderConfig).issuer;
  // The access token's claims are a bonus (roles, scope); a verifier that cannot answer right now
  // (introspection down) must not throw away tokens the IdP has already issued.
  const verified = await login.verifyAccessToken(tokens.accessToken, provider).catch(() => null);
  const accessClaims = verified?.ok === true ? verified.claims : null;
  const idClaims = tokens.idTokenClaims;
  const sub = previous?.sub ?? (typeof idClaims?.["sub"] === "string" ? idClaims["sub"] : null);
  if (sub === null) throw new LoginError("id_token_invalid", "the ID token has no sub");
  const claims = composeSessionClaims({
    sub,
    idTokenClaims: idClaims,
    accessTokenClaims: accessClaims,
    previous: previous?.claims ?? null,
    scope: tokens.scope,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
  });
  const authTime = typeof idClaims?.["auth_time"] === "number" ? idClaims["auth_time"] : (previous?.authTime ?? null);
  const t = login.nowSeconds();
  const sid =
    typeof idClaims?.["sid"] === "string" && idClaims["sid"].length > 0 ? idClaims["sid"] : (previous?.sid ?? null);
  return {
    v: 1,
    id: previous?.id ?? crypto.randomUUID(),
    provider,
    iss: issuer,
    sub,
    sid,
    claims,
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    accessTokenIssuedAt: Math.min(t, tokens.accessTokenExpiresAt),
    refreshToken: tokens.refreshToken ?? previous?.refreshToken ?? null,
    idToken: tokens.idToken ?? previous?.idToken ?? null,
    authTime,
    createdAt: previous?.createdAt ?? t,
    expiresAt: previous?.expiresAt ?? t + login.config.lifetimeSeconds,
    // A login or a refresh is use: the idle clock starts again.
    lastSeenAt: t,
    ...consentedOf(previous?.consented ?? consented),
  };
}

function consentedOf(scopes: readonly string[]): { consented?: string[] } {
  return scopes.length === 0 ? {} : { consented: scopes.slice(0, CONSENTED_SCOPES_MAX) };
}
