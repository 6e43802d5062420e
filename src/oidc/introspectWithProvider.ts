// Token introspection for one provider, its introspector made once the provider's discovery
// document is loaded (the endpoint may come from it) and kept on the shared provider state.
import type { Clock } from "../clock/Clock.ts";
import type { FetchLike } from "./boundedFetch.ts";
import { createIntrospector, type IntrospectionObserver } from "./createIntrospector.ts";
import type { ProviderState } from "./ProviderState.ts";
import { denyToken } from "./denyToken.ts";
import { VerifierFault } from "./VerifierFault.ts";
import type { VerifyOutcome } from "./VerifyOutcome.ts";

export interface IntrospectionSetup {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly maxEntries: number;
  readonly observer: IntrospectionObserver | undefined;
}

export function introspectWithProvider(
  state: ProviderState,
  token: string,
  setup: IntrospectionSetup,
): Promise<VerifyOutcome> {
  const { config } = state;
  if (state.introspector === undefined) {
    // Without discovery the endpoint is configured (check-config requires it): nothing to wait for.
    if (state.metadata === undefined && config.discovery !== false) {
      return Promise.resolve(
        denyToken(
          "jwks_unavailable",
          `provider not loaded yet${state.lastError ? ` (${state.lastError})` : ""}`,
          config.name,
        ),
      );
    }
    const endpoint = config.introspection.endpoint ?? state.metadata?.["introspection_endpoint"];
    if (typeof endpoint !== "string" || !URL.canParse(endpoint)) {
      throw new VerifierFault(
        `provider ${config.name} has no introspection endpoint (set providers.${config.name}.introspection.endpoint)`,
      );
    }
    state.introspector = createIntrospector({
      providerName: config.name,
      endpoint: new URL(endpoint),
      clientId: config.clientId as string,
      clientSecret: config.clientSecret as string,
      authMethod: config.introspection.authMethod,
      timeoutMs: config.requestTimeoutMs,
      cacheTtlSeconds: config.introspection.cacheTtlSeconds,
      maxEntries: setup.maxEntries,
      clockToleranceSeconds: config.clockToleranceSeconds,
      audiences: config.audiences,
      requireAudience: config.introspection.requireAudience !== false,
      audienceClaim: config.audienceClaim ?? "aud",
      issuer: config.issuer,
      issuers: state.issuers,
      requireAccessTokenType: config.requireAccessTokenType,
      idTokensAreBearer: config.opaqueAccessTokens === true,
      ...(config.accessTokenClaims === undefined ? {} : { accessTokenClaims: config.accessTokenClaims }),
      tokenLimits: config,
      allowInsecureHttp: config.allowInsecureHttp,
      fetch: setup.fetch,
      now: () => setup.clock.now(),
      ...(setup.observer ? { observer: setup.observer } : {}),
    });
  }
  return state.introspector.introspect(token);
}
