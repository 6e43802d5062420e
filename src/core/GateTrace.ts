// What the Gate's steps report when someone asks why a request got its answer (`portcullis
// explain`): the host and normalised path, the route, the credential and its verification, its
// revocation, token binding, requirements and the decision. The Check path passes no trace, so it
// costs one null test per step; entries hold no token, cookie or secret (details are the same
// log-safe ones denials carry).
import type { Decision } from "./Decision.ts";
import type { Subject } from "./Subject.ts";

export type GateTraceStep =
  | "host"
  | "path"
  | "rule"
  | "route"
  | "credential"
  | "revocation"
  | "binding"
  | "deny"
  | "requirement"
  | "requirements"
  | "shadow"
  | "decision";

export interface GateTraceEntry {
  readonly step: GateTraceStep;
  /** A short word or code: `normalised`, `matched`, `verified`, `token_expired`, `met`, `allow`... */
  readonly outcome: string;
  readonly detail?: string;
}

/** The port the Gate reports to; one per explained request. */
export interface GateTrace {
  record(entry: GateTraceEntry): void;
}

/** A trace that keeps what it is told, in order. */
export function createRecordingTrace(): GateTrace & { readonly entries: readonly GateTraceEntry[] } {
  const entries: GateTraceEntry[] = [];
  return { entries, record: (entry) => void entries.push(entry) };
}

/** The credential step's entry: who the credential speaks for, or the answer it led to instead. */
export function credentialEntry(
  kind: "bearer" | "dpop" | "other",
  found: Subject | Decision,
  cached: boolean,
): GateTraceEntry {
  if (found.kind === "subject") {
    const how = found.credential === "bearer" ? `${kind === "dpop" ? "DPoP" : "bearer"} token` : found.credential;
    return {
      step: "credential",
      outcome: "verified",
      detail: `${how} from provider ${found.provider}${cached ? " (token cache)" : ""}`,
    };
  }
  if (found.kind === "allow") return { step: "credential", outcome: "none", detail: `${found.reason} on this route` };
  return {
    step: "credential",
    outcome: found.code,
    ...(found.detail !== undefined ? { detail: found.detail } : {}),
  };
}

/** The decision entry: allow with its reason, or the status and code a client gets. */
export function decisionEntry(decision: Decision): GateTraceEntry {
  if (decision.kind === "allow")
    return { step: "decision", outcome: "allow", detail: `${decision.reason} on route ${decision.route}` };
  return {
    step: "decision",
    outcome: "deny",
    detail: `${decision.status} ${decision.code}${decision.route === null ? "" : ` on route ${decision.route}`}`,
  };
}
