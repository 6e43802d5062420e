// Log correlation: the trace and span ids of the span active where a line is logged (the Check's,
// or an IdP call's inside it), so a log line leads to its trace. Nothing when no span is active,
// which is always the case with tracing off. A new object every call: pino merges the line into it.
import { activeTracingApi } from "./activeTracingApi.ts";

export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const api = activeTracingApi();
  if (api === undefined) return {}; // tracing off: the OpenTelemetry API is not even loaded
  const span = api.trace.getActiveSpan();
  if (span === undefined) return {};
  const ids = span.spanContext();
  return api.isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
