// The DPoP slot of the token binding (RFC 9449): a token whose `cnf.jkt` names a key is accepted only
// as `Authorization: DPoP <token>` with a proof of that key for this very request (oidc/checkDpopProof),
// seen once (the replay store), under its provider's `dpop` policy. Denials carry RFC 9449 §7.1's
// challenge (`DPoP error=…, algs=…`) and, where the provider requires nonces, a fresh `DPoP-Nonce`.
// A replay store that cannot answer is a 503, never an allow.
import type { Clock } from "../clock/Clock.ts";
import { DPOP_ALGORITHMS } from "../config/dpopSchema.ts";
import type { DpopPolicy } from "../oidc/checkDpopProof.ts";
import type { DpopReplayStore } from "../oidc/DpopReplayStore.ts";
import { requestTargetUri } from "../oidc/normalizeTargetUri.ts";
import { verifyDpopProof, type DpopOutcome } from "../oidc/verifyDpopProof.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import type { Deny, HeaderList } from "./Decision.ts";
import { deny } from "./deny.ts";
import { refuseUnprovenBinding } from "./refuseUnprovenBinding.ts";
import type { DpopBinding } from "./TokenBinding.ts";

export interface DpopBindingOptions {
  /** Each provider whose DPoP-bound tokens are accepted, with its policy (`providers.<name>.dpop`). */
  readonly policies: ReadonlyMap<string, DpopPolicy>;
  /** Where proofs' jtis are remembered (memory, or Redis shared by the replicas). */
  readonly replays: DpopReplayStore;
  readonly clock: Clock;
}

/** A `cnf.jkt` is an RFC 7638 SHA-256 thumbprint: 43 base64url characters. */
const JKT = /^[A-Za-z0-9_-]{43}$/;

export function createDpopBinding(options: DpopBindingOptions): DpopBinding {
  const { policies, replays, clock } = options;
  const allAlgorithms = algorithmsOf([...policies.values()]);
  return {
    algorithms(providers) {
      if (providers.length === 0) return allAlgorithms;
      return algorithmsOf(providers.flatMap((name) => policies.get(name) ?? []));
    },
    checkProof(jkt, presented, request, route) {
      const context = { route: route.name, provider: presented.provider };
      const policy = policies.get(presented.provider);
      if (policy === undefined)
        return refuseUnprovenBinding(
          ["jkt"],
          "the provider does not accept DPoP (providers.<name>.dpop.enabled)",
          context,
        );
      if (typeof jkt !== "string" || !JKT.test(jkt))
        return refuseUnprovenBinding(["jkt"], "cnf.jkt is not a SHA-256 thumbprint", context);
      // RFC 9449 §7.1: a DPoP-bound token is presented with the DPoP scheme; as Bearer it is refused.
      if (presented.scheme !== "dpop")
        return withDpopChallenge(refuseUnprovenBinding(["jkt"], "presented with the Bearer scheme", context), policy);
      const presentation = {
        proof: request.headers.get("dpop"),
        method: request.method,
        targetUri: requestTargetUri(request.scheme, authorityOf(request), request.path),
        accessToken: presented.token,
        jkt,
      };
      return verifyDpopProof(presentation, policy, replays, clock.now()).then((outcome) =>
        outcome.ok ? null : proofDenial(outcome, policy, context),
      );
    },
  };
}

/** The algorithms of these policies, each once, in the order DPOP_ALGORITHMS lists them. */
function algorithmsOf(accepting: readonly DpopPolicy[]): readonly string[] {
  return Object.freeze(DPOP_ALGORITHMS.filter((alg) => accepting.some((policy) => policy.algorithms.has(alg))));
}

/** The authority the client addressed, port included; the canonical host when a front door gave none. */
function authorityOf(request: AccessRequest): string {
  return request.authority ?? request.host;
}

function proofDenial(
  outcome: Exclude<DpopOutcome, { ok: true }>,
  policy: DpopPolicy,
  context: { readonly route: string; readonly provider: string },
): Deny {
  const algs = algorithmsOf([policy]);
  // Where nonces are required, every DPoP denial hands out the current one (RFC 9449 §8: any response may).
  const nonce: HeaderList = policy.nonces === null ? [] : [["dpop-nonce", policy.nonces.current()]];
  if (outcome.error === "unavailable")
    return deny("dpop_replay_unavailable", { ...context, detail: outcome.detail, extraHeaders: nonce });
  return deny(outcome.error, {
    ...context,
    detail: outcome.detail,
    challenge: { dpop: { algs } },
    extraHeaders: nonce,
  });
}

/** A Bearer-scheme refusal of a DPoP-bound token also names the DPoP scheme it should have come in. */
function withDpopChallenge(denial: Deny, policy: DpopPolicy): Deny {
  return deny(denial.code, {
    route: denial.route,
    ...(denial.detail !== undefined ? { detail: denial.detail } : {}),
    ...(denial.provider !== undefined ? { provider: denial.provider } : {}),
    challenge: { dpop: { algs: algorithmsOf([policy]) } },
  });
}
