// The shape of a hosted-IdP preset: the provider keys it fills in (YAML form, parsed like user
// input) from the few keys the user wrote. A preset never decides which tokens are accepted
// (`audiences`, `issuer` stay the user's); it only states the IdP's known conventions.

import type { LogoutMethod } from "../PortcullisConfig.ts";

/** The provider keys a preset may fill in; every one is an ordinary provider key the user can set. */
export interface PresetValues {
  readonly scopes?: readonly string[];
  readonly roleClaims?: readonly string[];
  readonly groupClaims?: readonly string[];
  readonly authorizationParams?: Readonly<Record<string, string>>;
  readonly tokenIssuers?: readonly string[];
  readonly audienceClaim?: "aud" | "client_id";
  readonly accessTokenClaims?: Readonly<Record<string, string>>;
  readonly opaqueAccessTokens?: boolean;
  readonly logout?: { readonly method?: LogoutMethod; readonly url?: string; readonly idTokenHint?: boolean };
}

/** What the user wrote for the provider, as far as a preset reads it; absent when missing or not the right type. */
export interface PresetInput {
  readonly issuer?: string;
  readonly clientId?: string;
  readonly audiences?: readonly string[];
  /** Auth0: the namespace of custom claims (`https://example.com/`). */
  readonly claimNamespace?: string;
}

export interface IdpPreset {
  readonly name: string;
  /** One line for docs and check-config: what the preset sets. */
  readonly summary: string;
  values(input: PresetInput): PresetValues;
}
