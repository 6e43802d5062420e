// OpenTelemetry tracing for one process: the SDK's tracer provider with an OTLP/HTTP (JSON) exporter
// behind a bounded batch queue, AsyncLocalStorage context (so spans nest across awaits without being
// passed around), and the trace context of an incoming request read from W3C `traceparent` /
// `tracestate` or B3 (single `b3` and multi `x-b3-*`). Registered globally: one running at a time.
import {
  context,
  diag,
  DiagLogLevel,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { B3Propagator } from "@opentelemetry/propagator-b3";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { setActiveTracingApi } from "./activeTracingApi.ts";
import { TRACER_NAME } from "./withSpan.ts";

export interface TracingOptions {
  /** The OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces. */
  readonly endpoint: string;
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** Share of traces started here (no incoming context) that are recorded; an incoming sampled flag is followed. */
  readonly sampleRatio: number;
  readonly exportTimeoutMs: number;
  /** Sent with every export (e.g. a collector's API key); never logged. */
  readonly headers: Readonly<Record<string, string>>;
  /** Time spans wait in the queue before a batch is sent; default 5 s (the SDK's). */
  readonly batchDelayMs?: number;
  /** An export or SDK problem, log-safe; called at most once per minute. */
  readonly onProblem?: (message: string) => void;
  /**
   * Epoch milliseconds for the once-a-minute limit on problem reports; default Date.now. A function,
   * not src/clock's Clock: this room imports nothing of ours.
   */
  readonly now?: () => number;
}

/** What the handler needs to put a span around one incoming call. */
export interface Tracing {
  /**
   * Runs `run` inside a new SERVER span whose parent is the trace context carried in `headers`
   * (names lower-case), or a new trace when they carry none. The span ends when `run` settles.
   */
  inServerSpan<T>(
    name: string,
    headers: ReadonlyMap<string, string>,
    attributes: Attributes,
    run: (span: Span) => Promise<T>,
  ): Promise<T>;
  /** Exports what is queued (bounded by exportTimeoutMs) and unregisters the SDK. */
  shutdown(): Promise<void>;
}

/** The queue between ending spans and the exporter: full = new spans are dropped, never buffered without bound. */
const MAX_QUEUED_SPANS = 2048;
const PROBLEM_LOG_INTERVAL_MS = 60_000;

const headerGetter: TextMapGetter<ReadonlyMap<string, string>> = {
  get: (carrier, key) => carrier.get(key),
  keys: (carrier) => [...carrier.keys()],
};

let running = false;

export function startTracing(options: TracingOptions): Tracing {
  if (running) throw new Error("tracing is already running in this process");
  if (!(options.sampleRatio >= 0 && options.sampleRatio <= 1))
    throw new TypeError("tracing: sampleRatio must be within 0..1");
  running = true;

  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  // The SDK reports export failures through diag; they reach our log, rate-limited, as one short line.
  if (options.onProblem !== undefined)
    diag.setLogger(throttledDiag(options.onProblem, options.now ?? Date.now), DiagLogLevel.WARN);

  const exporter = new OTLPTraceExporter({
    url: options.endpoint,
    headers: { ...options.headers },
    timeoutMillis: options.exportTimeoutMs,
  });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": options.serviceName,
      ...(options.serviceVersion === undefined ? {} : { "service.version": options.serviceVersion }),
    }),
    // Envoy's (or the client's) sampling decision wins; the ratio applies to traces that start here.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        maxQueueSize: MAX_QUEUED_SPANS,
        exportTimeoutMillis: options.exportTimeoutMs,
        ...(options.batchDelayMs === undefined ? {} : { scheduledDelayMillis: options.batchDelayMs }),
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  setActiveTracingApi({ trace, isSpanContextValid, SpanKind, SpanStatusCode });
  // W3C last: when a request carries both, traceparent decides. Only extracted (Portcullis calls
  // no upstream with the request's context), so no global propagator is registered.
  const propagator = new CompositePropagator({ propagators: [new B3Propagator(), new W3CTraceContextPropagator()] });
  const tracer = provider.getTracer(TRACER_NAME, options.serviceVersion);

  let stopped: Promise<void> | undefined;
  return {
    inServerSpan(name, headers, attributes, run) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      return tracer.startActiveSpan(name, { kind: SpanKind.SERVER }, parent, async (span) => {
        // Set after sampling, not passed to it: a span that is not recorded skips their validation.
        if (span.isRecording()) span.setAttributes(attributes);
        try {
          return await run(span);
        } finally {
          span.end();
        }
      });
    },
    shutdown() {
      stopped ??= provider
        .shutdown()
        .catch((err: unknown) =>
          options.onProblem?.(`tracing shutdown: ${err instanceof Error ? err.message : "failed"}`),
        )
        .finally(() => {
          setActiveTracingApi(undefined);
          trace.disable();
          context.disable();
          diag.disable();
          running = false;
        });
      return stopped;
    },
  };
}

function throttledDiag(report: (message: string) => void, readNow: () => number) {
  let lastAt = -Infinity;
  const log = (message: string) => {
    const now = readNow();
    if (now - lastAt < PROBLEM_LOG_INTERVAL_MS) return;
    lastAt = now;
    // diag messages come from the SDK (export status, queue overflow); an error arrives as JSON with
    // its stack, of which its message is what an operator needs. Bounded for the log line.
    const text = messageOf(message);
    report(text.length > 300 ? `${text.slice(0, 300)}…` : text);
  };
  const ignore = () => undefined;
  return { error: log, warn: log, info: ignore, debug: ignore, verbose: ignore };
}

function messageOf(diagMessage: string): string {
  try {
    const parsed: unknown = JSON.parse(diagMessage);
    const message = (parsed as { message?: unknown } | null)?.message;
    return typeof message === "string" ? message : diagMessage;
  } catch {
    return diagMessage;
  }
}
