// The ext_authz v3 Check handler: AccessRequest (decoded by the service definition's
// decodeCheckRequest) → gate.decide() → CheckResponse bytes. Any fault here, a refused request
// included, becomes an explicit 503 denial, never a gRPC error that Envoy's failure_mode_allow could
// turn into an allow.
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import { internalErrorDecision } from "../core/deny.ts";
import { CheckRequestRefused } from "./decodeCheckRequest.ts";
import { checkResponseBytes } from "./checkResponseBytes.ts";

export interface DecisionGate {
  decide(request: AccessRequest): Promise<Decision>;
}

/** Puts a span around a check; the span ends once `run` has answered and observed it. */
export interface CheckTracer {
  trace(request: AccessRequest, run: () => Promise<Decision>): Promise<Decision>;
}

export interface CheckObserver {
  /** Called once per answered check, with the time spent in seconds. */
  checked(request: AccessRequest | null, decision: Decision, seconds: number, fault?: unknown): void;
}

export function createExtAuthzHandlers(
  gate: DecisionGate,
  observer: CheckObserver,
  tracer?: CheckTracer,
): UntypedServiceImplementation {
  return {
    Check(call: ServerUnaryCall<AccessRequest | CheckRequestRefused, Buffer>, callback: sendUnaryData<Buffer>) {
      const started = performance.now();
      let request: AccessRequest | null = null;
      const answer = (decided: Decision, fault?: unknown) => {
        let decision = decided;
        let bytes = checkResponseBytes(decision);
        if (bytes === null) {
          decision = internalErrorDecision(decision.route, "a string in the decision has no UTF-8 form");
          bytes = checkResponseBytes(decision) as Buffer;
        }
        // Answer first: metrics and logging must never delay or prevent the response.
        callback(null, bytes);
        try {
          observer.checked(request, decision, (performance.now() - started) / 1000, fault);
        } catch {
          // An observer fault is not the request's business; the next check is observed again.
        }
      };
      try {
        const decoded = call.request;
        if (decoded instanceof CheckRequestRefused) {
          answer(internalErrorDecision(null, `check request refused: ${decoded.reason}`));
          return;
        }
        request = decoded;
        if (tracer === undefined) {
          gate.decide(decoded).then(
            (decision) => answer(decision),
            (fault: unknown) => answer(internalErrorDecision(null, "unexpected fault in decide"), fault),
          );
          return;
        }
        // Answered and observed inside the span, so the denial and audit lines carry its trace id.
        void tracer.trace(decoded, () =>
          gate.decide(decoded).then(
            (decision) => {
              answer(decision);
              return decision;
            },
            (fault: unknown) => {
              const decision = internalErrorDecision(null, "unexpected fault in decide");
              answer(decision, fault);
              return decision;
            },
          ),
        );
      } catch (fault) {
        answer(internalErrorDecision(null, "unexpected fault starting the check"), fault);
      }
    },
  };
}
