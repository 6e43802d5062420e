// The token binding one config generation's gate checks bound tokens with: each provider's
// `boundTokens` demand, and the proof checks the config enables: client certificates always, DPoP
// proofs for the providers with `dpop.enabled` (their policies, the process's replay store and
// generated nonce key, so both outlive a reload). Without any, a DPoP-bound token is refused.
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { BoundTokens } from "../core/compileRouteBinding.ts";
import { createDpopBinding } from "../core/createDpopBinding.ts";
import { createTokenBinding } from "../core/createTokenBinding.ts";
import type { TokenBinding } from "../core/TokenBinding.ts";
import type { DpopPolicy } from "../oidc/checkDpopProof.ts";
import { createDpopPolicy } from "../oidc/createDpopPolicy.ts";
import { createDpopState, type DpopState } from "./createDpopState.ts";

/** `dpop`: the process's DPoP state (createSharedSessionState); default: one for this binding alone. */
export function createConfiguredTokenBinding(
  config: PortcullisConfig,
  dpop?: DpopState,
  clock: Clock = systemClock,
): TokenBinding {
  const providers = new Map<string, BoundTokens>();
  const policies = new Map<string, DpopPolicy>();
  let state = dpop;
  for (const provider of Object.values(config.providers)) {
    providers.set(provider.name, provider.boundTokens ?? "none");
    if (provider.dpop?.enabled !== true) continue;
    state ??= createDpopState(null, { operation: () => {} }, clock);
    const policy = createDpopPolicy(provider.dpop, state.nonceSecret, clock);
    if (policy !== null) policies.set(provider.name, policy);
  }
  if (policies.size === 0 || state === undefined) return createTokenBinding({ providers });
  return createTokenBinding({
    providers,
    dpop: createDpopBinding({ policies, replays: state.replays, clock }),
  });
}
