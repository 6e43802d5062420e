// The port through which the gate checks a sender-constrained token against the request's proof, on
// every check of the token (cached or not): the token cache keeps `cnf` in the claims, and the proof
// (a client certificate, a DPoP proof) belongs to the request, never to the cache. createTokenBinding
// is the implementation; the composition root injects it (and the DPoP proof check into it).
import type { AccessRequest } from "./AccessRequest.ts";
import type { Deny } from "./Decision.ts";
import type { DpopChallenge } from "./deny.ts";
import type { CompiledRoute } from "./RouteTable.ts";

/** A verified bearer credential as the client presented it. */
export interface PresentedToken {
  /** The access token itself (DPoP's `ath` is its hash). */
  readonly token: string;
  /** The Authorization scheme it came in: `bearer` (RFC 6750) or `dpop` (RFC 9449). */
  readonly scheme: "bearer" | "dpop";
  readonly claims: Readonly<Record<string, unknown>>;
  readonly provider: string;
}

/** null: the binding holds (or none is needed); a denial otherwise. A promise only where I/O is needed. */
export type BindingOutcome = Deny | null | Promise<Deny | null>;

export interface TokenBinding {
  /**
   * Some provider demands bound tokens (`providers.<name>.boundTokens`), so a token without `cnf` on a
   * route without binding settings is checked too. False in most configs: the gate then asks only
   * for tokens that carry a `cnf` or routes that say something.
   */
  readonly providersDemand: boolean;
  check(presented: PresentedToken, request: AccessRequest, route: CompiledRoute): BindingOutcome;
  /**
   * The DPoP challenge a 401 on this route carries (RFC 9449 §7.1: `algs`, and `only` where its
   * demand leaves no room for a bearer token); null where no provider of the route accepts DPoP.
   */
  dpopChallenge(route: CompiledRoute): DpopChallenge | null;
}

/**
 * DPoP (RFC 9449) for a token whose `cnf` has `jkt`: null when the request's proof holds. Until a
 * proof check fills this slot (createTokenBinding's `dpop`), every `jkt` token is refused as a bearer
 * token presented without its proof.
 */
export interface DpopBinding {
  checkProof(jkt: unknown, presented: PresentedToken, request: AccessRequest, route: CompiledRoute): BindingOutcome;
  /** The proof algorithms of those of `providers` (empty: every provider) that accept DPoP; empty when none does. */
  algorithms(providers: readonly string[]): readonly string[];
}
