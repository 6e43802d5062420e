// What browser login needs from one provider's OIDC client (src/oidc/createLoginClient): begin a
// login, complete it from the callback, refresh, and the end-session URL for a sign-out.
import type { LoginTransaction } from "../session/LoginTransaction.ts";

/** Tokens from a code exchange or a refresh, as the login client returns them. */
export interface TokenResult {
  readonly idTokenClaims: Readonly<Record<string, unknown>> | null;
  readonly idToken: string | null;
  readonly accessToken: string;
  readonly accessTokenExpiresAt: number;
  readonly refreshToken: string | null;
  readonly scope: string | null;
}

export interface LoginClientPort {
  begin(params: {
    returnTo: string;
    acrValues?: readonly string[];
    maxAge?: number;
    prompt?: string;
    /** Incremental consent: `add` (recorded in the transaction) and `keep`, asked for beside the configured scopes. */
    scopes?: { readonly add: readonly string[]; readonly keep: readonly string[] };
  }): Promise<{ url: string; transaction: LoginTransaction }>;
  complete(params: URLSearchParams, transaction: LoginTransaction): Promise<TokenResult>;
  refresh(refreshToken: string, expected: { sub: string }): Promise<TokenResult>;
  endSessionUrl(params: { idTokenHint: string | null; postLogoutRedirectUri: string | null }): string | null;
}
