// How long a revocation naming an IdP session (`sid`) or a user (`sub`) is kept: it must outlive
// everything it refuses, the sessions created before it (`session.lifetimeSeconds`) and the bearer
// tokens issued before it (`session.maxTokenLifetimeSeconds`, and each provider's own
// `maxTokenLifetimeSeconds`, past which that provider's tokens are refused anyway). A sign-out's
// own-session revocation needs only the session's remaining life and does not use this.
import type { ProviderConfig, SessionConfig } from "../config/PortcullisConfig.ts";

export function revocationLifetimeSeconds(
  config: Pick<SessionConfig, "lifetimeSeconds" | "maxTokenLifetimeSeconds">,
  providers: Iterable<Pick<ProviderConfig, "maxTokenLifetimeSeconds">>,
): number {
  // A revocation dropped before a token it refuses expires would let that token pass again.
  let longest = Math.max(config.lifetimeSeconds, config.maxTokenLifetimeSeconds);
  for (const provider of providers) longest = Math.max(longest, provider.maxTokenLifetimeSeconds ?? 0);
  return longest;
}
