// The dynamic metadata of a denial (`identity.metadata`): the route when one matched and the denial
// code, for Envoy's access log and later filters, and who the caller is only when the gate verified
// them (a request refused for its scopes or policy), never from a credential that was itself refused.
import type { MetadataBuilder, MetadataSubject } from "../identity/createDynamicMetadata.ts";
import type { Decision } from "./Decision.ts";

export function withDenialMetadata(
  decision: Decision,
  metadata: MetadataBuilder,
  verified: MetadataSubject | null = null,
): Decision {
  // An allow carries its own; a denial that already has some keeps it (the verified caller's).
  if (decision.kind !== "deny" || decision.metadata !== undefined) return decision;
  return { ...decision, metadata: metadata(decision.route, verified, decision.code) };
}
