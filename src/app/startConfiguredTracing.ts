// Starts OpenTelemetry tracing as the `tracing` config section says, or nothing when it is off (the
// default): then no span is made and the Check path is unchanged. Export problems reach the log as
// one warning a minute at most; the endpoint is logged without query, and header values never.
// The OpenTelemetry SDK and exporter are loaded only when tracing is on (tens of MB and of ms).
import type { Logger } from "pino";
import type { TracingConfig } from "../config/PortcullisConfig.ts";
import type { Tracing } from "../observability/startTracing.ts";

export async function startConfiguredTracing(config: TracingConfig, logger: Logger): Promise<Tracing | null> {
  if (!config.enabled) return null;
  const { startTracing } = await import("../observability/startTracing.ts");
  const endpoint = new URL(config.endpoint);
  const where = `${endpoint.origin}${endpoint.pathname}`;
  const tracing = startTracing({
    endpoint: config.endpoint,
    serviceName: config.serviceName,
    sampleRatio: config.sampleRatio,
    exportTimeoutMs: config.exportTimeoutMs,
    headers: config.headers,
    onProblem: (message) => logger.warn({ endpoint: where, problem: message }, "tracing: spans could not be exported"),
  });
  logger.info(
    { endpoint: where, sampleRatio: config.sampleRatio, serviceName: config.serviceName },
    "tracing on: exporting spans over OTLP/HTTP",
  );
  return tracing;
}
