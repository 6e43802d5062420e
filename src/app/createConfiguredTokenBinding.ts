// The token binding one config generation's gate checks bound tokens with: each provider's
// `boundTokens` demand, and the proof checks the config enables (client certificates always; a
// DPoP-bound token is refused until a DPoP proof check is given to createTokenBinding here).
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { BoundTokens } from "../core/compileRouteBinding.ts";
import { createTokenBinding } from "../core/createTokenBinding.ts";
import type { TokenBinding } from "../core/TokenBinding.ts";

export function createConfiguredTokenBinding(config: PortcullisConfig): TokenBinding {
  const providers = new Map<string, BoundTokens>();
  for (const provider of Object.values(config.providers)) providers.set(provider.name, provider.boundTokens ?? "none");
  return createTokenBinding({ providers });
}
