// The dev IdP's call counters: which requests tests count (authorization, end-session,
// introspection, token by grant type, back-channel logouts) and how a request adds to them.

import type { OidcContext, Provider } from "oidc-provider";
import type { DevIdpCounts } from "./DevIdp.ts";

export function zeroDevIdpCounts(): DevIdpCounts {
  return {
    token: 0,
    tokenByGrant: { authorization_code: 0, refresh_token: 0, client_credentials: 0 },
    introspection: 0,
    endSession: 0,
    authorization: 0,
    backchannelLogouts: { sent: 0, failed: 0 },
  };
}

/** Keeps `counts` up to date with the provider's requests and back-channel logouts. */
export function countDevIdpRequests(provider: Provider, counts: DevIdpCounts): void {
  // Counted after the route ran, so the token endpoint's parsed grant_type is known; before the
  // response is written, so a test that got its answer sees the count.
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      countRequest(counts, ctx);
    }
  });
  provider.on("backchannel.success", () => void (counts.backchannelLogouts.sent += 1));
  provider.on("backchannel.error", () => void (counts.backchannelLogouts.failed += 1));
}

function countRequest(counts: DevIdpCounts, ctx: OidcContext): void {
  if (ctx.path === "/auth") counts.authorization++;
  else if (ctx.path === "/session/end") counts.endSession++;
  else if (ctx.path === "/token/introspection" && ctx.method === "POST") counts.introspection++;
  else if (ctx.path === "/token" && ctx.method === "POST") {
    counts.token++;
    const grantType = ctx.oidc?.params?.grant_type;
    // A bounded key: a client-chosen grant_type never grows the record with arbitrary names.
    const key = typeof grantType === "string" && /^[\w:.-]{1,100}$/.test(grantType) ? grantType : "unknown";
    counts.tokenByGrant[key] = (counts.tokenByGrant[key] ?? 0) + 1;
  }
}
