// A CLIENT span around one outbound call (JWKS, discovery, introspection, token endpoint), child of
// whatever span is active: the Check span when a check waits for the call, none (a new trace) for
// background work. With tracing off `run` is simply called, and the OpenTelemetry API is not loaded.
import type { Attributes } from "@opentelemetry/api";
import { activeTracingApi } from "./activeTracingApi.ts";

export const TRACER_NAME = "portcullis";

/** What a caller may add to its span: attributes only (never a token, cookie or secret). */
export interface SpanNotes {
  set(key: string, value: string | number | boolean): void;
}

const NO_NOTES: SpanNotes = { set: () => undefined };

export function withSpan<T>(name: string, attributes: Attributes, run: (notes: SpanNotes) => Promise<T>): Promise<T> {
  const api = activeTracingApi();
  if (api === undefined) return run(NO_NOTES);
  const { SpanKind, SpanStatusCode, trace } = api;
  // Looked up per call (a map lookup): a tracer kept from before startTracing, or from a provider
  // since shut down, would keep pointing at it.
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await run({ set: (key, value) => span.setAttribute(key, value) });
    } catch (err) {
      // The error's stable code or class name only: messages may quote what an IdP answered.
      span.setAttribute("error.type", errorType(err));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  return err instanceof Error ? err.name : "unknown";
}
