// The token binding the gate asks on every check of a token that carries a `cnf` (or on a route
// that demands bound tokens): which proof the route demands (`require.boundTokens`, else the
// provider's `boundTokens`), which confirmation methods the token names, and whether the request
// proves each of them: `x5t#S256` by the client certificate (RFC 8705), `jkt` by a DPoP proof
// (RFC 9449, the `dpop` slot). Fails closed: a `cnf` it cannot read, a method it does not know, a
// method named but not proven are each refused.
import type { AccessRequest } from "./AccessRequest.ts";
import { checkCertificateBinding } from "./checkCertificateBinding.ts";
import type { BoundTokens } from "./compileRouteBinding.ts";
import { deny, type DpopChallenge } from "./deny.ts";
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
  algorithms: () => [],
};

export function createTokenBinding(options: TokenBindingOptions = {}): TokenBinding {
  const providers = options.providers ?? new Map<string, BoundTokens>();
  const dpop = options.dpop ?? NO_DPOP;
  // Per route of this config (bounded by it): its DPoP challenge, made on its first 401.
  const challenges = new WeakMap<CompiledRoute, DpopChallenge | null>();
  const dpopChallenge = (route: CompiledRoute): DpopChallenge | null => {
    let challenge = challenges.get(route);
    if (challenge === undefined) {
      const algs = dpop.algorithms(route.providers);
      const accepted = route.providers.length > 0 ? route.providers : [...providers.keys()];
      // DPoP alone where the route demands it, or (saying nothing) every provider it accepts does.
      const only =
        route.binding?.boundTokens === "dpop" ||
        ((route.binding?.boundTokens ?? null) === null &&
          accepted.length > 0 &&
          accepted.every((name) => providers.get(name) === "dpop"));
      challenge = algs.length === 0 ? null : Object.freeze({ algs, only });
      challenges.set(route, challenge);
    }
    return challenge;
  };
  return {
    providersDemand: [...providers.values()].some((demand) => demand !== "none"),
    check(presented, request, route) {
      const demand = route.binding?.boundTokens ?? providers.get(presented.provider) ?? "none";
      return checkBinding(presented, request, route, demand, dpop, dpopChallenge);
    },
    dpopChallenge,
  };
}

function checkBinding(
  presented: PresentedToken,
  request: AccessRequest,
  route: CompiledRoute,
  demand: BoundTokens,
  dpop: DpopBinding,
  dpopChallenge: (route: CompiledRoute) => DpopChallenge | null,
): BindingOutcome {
  const context = { route: route.name, provider: presented.provider };
  const cnf = presented.claims["cnf"];
  // RFC 9449 §7.1: the DPoP scheme is for a token bound to the proof's key; any other is refused.
  if (presented.scheme === "dpop" && !namesKey(cnf)) {
    const challenge = dpopChallenge(route);
    return deny("type_not_allowed", {
      ...context,
      detail: "a token without cnf.jkt presented with the DPoP scheme",
      ...(challenge !== null ? { challenge: { dpop: challenge } } : {}),
    });
  }
  if (cnf === undefined) {
    if (demand === "none") return null;
    return boundTokenRequired(
      demand,
      `the route demands ${demand}; the token has no cnf`,
      context,
      dpopChallenge(route),
    );
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
    return boundTokenRequired(
      demand,
      `the route demands ${demand}; the token is bound by ${quotableMembers(members)}`,
      context,
      dpopChallenge(route),
    );
  // Every method the token names must be proven: a token bound to a key and a certificate needs both.
  if (byCertificate) {
    const refused = checkCertificateBinding(bound[X5T], presentedClientCertificate(request, route.binding), context);
    if (refused !== null) return refused;
  }
  return byKey ? dpop.checkProof(bound[JKT], presented, request, route) : null;
}

/** Whether `cnf` is an object with a `jkt` member (checked further by the DPoP slot). */
function namesKey(cnf: unknown): boolean {
  return typeof cnf === "object" && cnf !== null && !Array.isArray(cnf) && Object.hasOwn(cnf, JKT);
}

/** 401 bound_token_required; where a DPoP-bound token would do, with the DPoP challenge that asks for one. */
function boundTokenRequired(
  demand: BoundTokens,
  detail: string,
  context: { readonly route: string; readonly provider: string },
  challenge: DpopChallenge | null,
) {
  if (challenge === null || (demand !== "dpop" && demand !== "any"))
    return deny("bound_token_required", { ...context, detail });
  // Where only DPoP will do for this token's provider, the error goes on the DPoP challenge alone.
  const dpop = demand === "dpop" && !challenge.only ? { ...challenge, only: true } : challenge;
  return deny("bound_token_required", { ...context, detail, challenge: { dpop } });
}
