// Log correlation: the trace and span ids of the span active where a line is logged (the Check's,
// or an IdP call's inside it), so a log line leads to its trace. Nothing when no span is active,
// which is always the case with tracing off. A new object every call: pino merges the line into it.
import { isSpanContextValid, trace } from "@opentelemetry/api";

export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
