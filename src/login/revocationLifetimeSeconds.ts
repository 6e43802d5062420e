// How long a revocation naming an IdP session (`sid`) or a user (`sub`) is kept: it must outlive
// everything it refuses, the sessions created before it (`session.lifetimeSeconds`) and the bearer
// tokens issued before it (`session.maxTokenLifetimeSeconds`). A sign-out's own-session revocation
// needs only the session's remaining life and does not use this.
import type { SessionConfig } from "../config/PortcullisConfig.ts";

export function revocationLifetimeSeconds(
  config: Pick<SessionConfig, "lifetimeSeconds" | "maxTokenLifetimeSeconds">,
): number {
  // A revocation dropped before a token it refuses expires would let that token pass again.
  return Math.max(config.lifetimeSeconds, config.maxTokenLifetimeSeconds);
}
