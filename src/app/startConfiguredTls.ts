// `listen.tls` of a config, loaded and watched for the gRPC and auth listeners (startListenerTls),
// or null when TLS is off (certFile unset). One per process: every listener of it shares the files.
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { Metrics } from "../observability/Metrics.ts";
import { listenerTlsFiles } from "./listenerTlsFiles.ts";
import { startListenerTls, type RunningListenerTls } from "./startListenerTls.ts";

export function startConfiguredTls(
  config: PortcullisConfig,
  logger: Logger,
  metrics: Metrics,
  clock: Clock,
): RunningListenerTls | null {
  const tls = config.listen.tls;
  const files = listenerTlsFiles(tls);
  if (files === null) return null;
  const settings = { ...files, requireClientCertificate: tls.requireClientCertificate };
  return startListenerTls(settings, { logger, metrics, clock });
}
