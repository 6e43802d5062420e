// The OpenTelemetry API as the span helpers and the logger's mixin reach it: set by startTracing
// while tracing runs, absent otherwise, so a process without tracing never loads @opentelemetry/api
// (about a hundred modules) and those helpers stay no-ops that import nothing.
import type * as OpenTelemetryApi from "@opentelemetry/api";

export type TracingApi = Pick<typeof OpenTelemetryApi, "trace" | "isSpanContextValid" | "SpanKind" | "SpanStatusCode">;

let active: TracingApi | undefined;

/** The API while tracing runs; undefined when it is off (the default) or stopped. */
export function activeTracingApi(): TracingApi | undefined {
  return active;
}

/** startTracing hands the API in once its provider is registered, and undefined once it stops. */
export function setActiveTracingApi(api: TracingApi | undefined): void {
  active = api;
}
