// The signed identity assertion in a check's answer: on a route that adds one, its header is set and
// taken out of the removals (Envoy applies removals after sets); on every other route it stays among
// the owned headers removed, so a client-sent value never reaches an upstream. The answer that
// carries it says when it renews (Allow.renewAt): a kept answer is made again from then on.
import type { AssertionRefusal, AssertionSigner } from "../identity/createAssertionSigner.ts";
import type { HeaderList } from "./Decision.ts";

export interface AssertionDependency {
  readonly signer: Pick<AssertionSigner, "header" | "issue">;
  /** Route name → audience, for the routes that add an assertion. */
  readonly audiences: ReadonlyMap<string, string>;
}

export interface AssertedHeaders {
  readonly set: HeaderList;
  readonly remove: readonly string[];
  /** Epoch ms from which the assertion is made again. */
  readonly renewAt: number;
}

export type AssertionHeaders = (
  route: string,
  claims: Readonly<Record<string, unknown>>,
  provider: string,
  machine: boolean,
  set: HeaderList,
  remove: readonly string[],
) => AssertedHeaders | AssertionRefusal | null;

export function createAssertionHeaders(dependency: AssertionDependency): AssertionHeaders {
  const { signer, audiences } = dependency;
  const header = signer.header;
  // Most answers share one remove list (see createIdentityHeaderCache): its copy without our
  // header is made once per list.
  const withoutHeader = new WeakMap<readonly string[], readonly string[]>();
  return (route, claims, provider, machine, set, remove) => {
    const audience = audiences.get(route);
    if (audience === undefined) return null;
    const issued = signer.issue(claims, provider, machine, audience);
    if ("refused" in issued) return issued;
    let kept = withoutHeader.get(remove);
    if (kept === undefined) {
      kept = Object.freeze(remove.filter((name) => name !== header));
      withoutHeader.set(remove, kept);
    }
    return { set: [...set, [header, issued.value]], remove: kept, renewAt: issued.renewAt };
  };
}
