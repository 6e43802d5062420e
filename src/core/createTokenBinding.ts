// The token binding the gate asks on every check of a token that carries a `cnf` (or on a route
// that demands bound tokens): which proof the route demands (`require.boundTokens`, else the
// provider's `boundTokens`), which confirmation methods the token names, and whether the request
// proves each of them: `x5t#S256` by the client certificate (RFC 8705), `jkt` by a DPoP proof
// (RFC 9449, the `dpop` slot). Fails closed: a `cnf` it cannot read, a method it does not know, a
// method named but not proven are each refused.
import type { AccessRequest } from "./AccessRequest.ts";
import { checkCertificateBinding } from "./checkCertificateBinding.ts";
import type { BoundTokens } from "./compileRouteBinding.ts";
import { deny } from "./deny.ts";
import { presentedClientCertificate } from "./presentedClientCertificate.ts";
import { quotableMembers, refuseUnprovenBinding } from "./refuseUnprovenBinding.ts";
import type { CompiledRoute } from "./RouteTable.ts";
import type { BindingOutcome, DpopBinding, PresentedToken, TokenBinding } from "./TokenBinding.ts";

export interface TokenBindingOptions {
  /** Each provider's `boundTokens` (absent: none). */
  readonly providers?: ReadonlyMap<string, BoundTokens>;
  /** The DPoP proof check; absent: every `cnf.jkt` token is refused as presented without its proof. */
  readonly dpop?: DpopBinding;
}

const X5T = "x5t#S256";
const JKT = "jkt";

/** Until a DPoP proof check is configured: a `jkt` token cannot be proven, so it is refused. */
const NO_DPOP: DpopBinding = {
  checkProof: (_jkt, presented, _request, route) =>
    refuseUnprovenBinding([JKT], "no DPoP proof check is configured", {
      route: route.name,
      provider: presented.provider,
    }),
};

export function createTokenBinding(options: TokenBindingOptions = {}): TokenBinding {
  const providers = options.providers ?? new Map<string, BoundTokens>();
  const dpop = options.dpop ?? NO_DPOP;
  return {
    providersDemand: [...providers.values()].some((demand) => demand !== "none"),
    check(presented, request, route) {
      const demand = route.binding?.boundTokens ?? providers.get(presented.provider) ?? "none";
      return checkBinding(presented, request, route, demand, dpop);
    },
  };
}

function checkBinding(
  presented: PresentedToken,
  request: AccessRequest,
  route: CompiledRoute,
  demand: BoundTokens,
  dpop: DpopBinding,
): BindingOutcome {
  const context = { route: route.name, provider: presented.provider };
  const cnf = presented.claims["cnf"];
  if (cnf === undefined) {
    if (demand === "none") return null;
    return deny("bound_token_required", { ...context, detail: `the route demands ${demand}; the token has no cnf` });
  }
  // A `cnf` that is not an object with members (null, a string, a list, {}) binds to nothing we can check.
  if (typeof cnf !== "object" || cnf === null || Array.isArray(cnf))
    return refuseUnprovenBinding([], "cnf is not an object", context);
  const members = Object.keys(cnf);
  if (members.length === 0) return refuseUnprovenBinding([], "cnf names no confirmation method", context);
  const unknown = members.filter((m) => m !== X5T && m !== JKT);
  if (unknown.length > 0)
    return refuseUnprovenBinding(unknown, "a confirmation method Portcullis cannot check", context);
  const bound = cnf as Readonly<Record<string, unknown>>;
  const byCertificate = Object.hasOwn(bound, X5T);
  const byKey = Object.hasOwn(bound, JKT);
  if ((demand === "mtls" && !byCertificate) || (demand === "dpop" && !byKey))
    return deny("bound_token_required", {
      ...context,
      detail: `the route demands ${demand}; the token is bound by ${quotableMembers(members)}`,
    });
  // Every method the token names must be proven: a token bound to a key and a certificate needs both.
  if (byCertificate) {
    const refused = checkCertificateBinding(bound[X5T], presentedClientCertificate(request, route.binding), context);
    if (refused !== null) return refused;
  }
  return byKey ? dpop.checkProof(bound[JKT], presented, request, route) : null;
}
