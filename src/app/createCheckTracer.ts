// The span of one ext_authz Check: continues the trace Envoy passed in the request's headers and
// records what was decided (route, decision, reason, provider, credential kind), never the token,
// cookie, path or any header value. A fault (5xx) marks the span as an error; a denial does not.
import type { SpanStatusCode } from "@opentelemetry/api";
import type { Decision } from "../core/Decision.ts";
import type { Tracing } from "../observability/startTracing.ts";
import type { CheckTracer } from "../transport/createExtAuthzHandlers.ts";

export const CHECK_SPAN_NAME = "envoy.service.auth.v3.Authorization/Check";

/** SpanStatusCode.ERROR by value: a type-only import keeps @opentelemetry/api out until tracing starts. */
const STATUS_ERROR: SpanStatusCode.ERROR = 2;

const RPC_ATTRIBUTES = {
  "rpc.system": "grpc",
  "rpc.service": "envoy.service.auth.v3.Authorization",
  "rpc.method": "Check",
} as const;

export function createCheckTracer(tracing: Tracing): CheckTracer {
  return {
    trace(request, run) {
      const attributes =
        request.requestId === ""
          ? RPC_ATTRIBUTES
          : { ...RPC_ATTRIBUTES, "portcullis.request_id": request.requestId.slice(0, 128) };
      return tracing.inServerSpan(CHECK_SPAN_NAME, request.headers, attributes, async (span) => {
        const decision = await run();
        if (!span.isRecording()) return decision; // not sampled: nothing to describe
        span.setAttributes(decisionAttributes(decision));
        if (decision.kind === "deny" && decision.status >= 500)
          span.setStatus({ code: STATUS_ERROR, message: decision.code });
        return decision;
      });
    },
  };
}

function decisionAttributes(decision: Decision): Record<string, string | number> {
  const attributes: Record<string, string | number> = {
    "portcullis.route": decision.route ?? "(none)",
    "portcullis.decision": decision.kind,
    "portcullis.reason": decision.kind === "allow" ? decision.reason : decision.code,
  };
  if (decision.provider !== undefined) attributes["portcullis.provider"] = decision.provider;
  if (decision.kind === "allow") {
    if (decision.credential !== undefined) attributes["portcullis.credential"] = decision.credential;
  } else {
    attributes["http.response.status_code"] = decision.status;
  }
  return attributes;
}
