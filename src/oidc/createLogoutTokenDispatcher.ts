// Routes a back-channel logout token to the provider that issued it: the unverified `iss` only picks
// among configured providers with a client (the logout token's audience); the provider's loaded keys,
// algorithm allowlist and clock tolerance then verify everything (src/oidc/verifyLogoutToken).
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { ProviderConfig } from "../config/PortcullisConfig.ts";
import { compactShapeProblem, readUnverifiedIssuer } from "./compactJwt.ts";
import type { ProviderRegistry } from "./ProviderRegistry.ts";
import { verifyLogoutToken, type LogoutTokenOutcome } from "./verifyLogoutToken.ts";

/** A logout token older than this is refused; the revocation list remembers its jti for twice as long. */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 600;

export type LogoutTokenDispatcher = (
  token: string,
) => Promise<{ readonly provider: string | null; readonly outcome: LogoutTokenOutcome }>;

export function createLogoutTokenDispatcher(
  providers: readonly ProviderConfig[],
  registry: ProviderRegistry,
  clock: Clock = systemClock,
): LogoutTokenDispatcher {
  const byIssuer = new Map(providers.filter((p) => p.clientId !== null).map((p) => [p.issuer, p]));
  return async (token) => {
    const invalid = (detail: string, provider: string | null = null) => ({
      provider,
      outcome: { ok: false, code: "logout_token_invalid", detail } as const,
    });
    const shape = compactShapeProblem(token);
    if (shape !== undefined) return invalid(shape);
    const issuer = readUnverifiedIssuer(token);
    if (!issuer.ok) return invalid(issuer.detail);
    const provider = issuer.iss === undefined ? undefined : byIssuer.get(issuer.iss);
    if (provider === undefined) return invalid("no provider with a client has this issuer");
    const loaded = registry.loaded(provider.name);
    if (loaded === null)
      return {
        provider: provider.name,
        outcome: { ok: false, code: "logout_unavailable", detail: "provider keys not loaded yet" },
      };
    const outcome = await verifyLogoutToken(token, {
      keys: loaded.keys,
      issuer: provider.issuer,
      clientId: provider.clientId as string,
      algorithms: provider.algorithms,
      clockToleranceSeconds: provider.clockToleranceSeconds,
      nowMs: clock.now(),
      maxAgeSeconds: LOGOUT_TOKEN_MAX_AGE_SECONDS,
    });
    return { provider: provider.name, outcome };
  };
}
