// `listen.tls` served: the files loaded at start, then watched, so a renewed certificate (a Kubernetes
// Secret's symlink swap, a rename over the files) is used for the next handshakes of every listener
// that took it, while open connections keep theirs. A set that does not load (a key without its
// certificate yet, a bad file) leaves the previous one serving: a warning and a metric, never an outage.
import type { SecureContextOptions, TlsOptions } from "node:tls";
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import type { Metrics } from "../observability/Metrics.ts";
import type { ServerTls } from "../transport/ServerTls.ts";
import { loadListenerTls, type ListenerTlsFiles, type LoadedTls, type TlsFileIssue } from "./loadListenerTls.ts";
import { watchFiles, type FilesWatcher } from "./watchFiles.ts";

export interface ListenerTlsSettings extends ListenerTlsFiles {
  readonly requireClientCertificate: boolean;
}

export interface RunningListenerTls extends ServerTls {
  /** Reads the files again now (SIGHUP, a config reload); true when the set in use changed. */
  reload(): boolean;
  close(): void;
}

interface Units {
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, "tlsReloads" | "tlsCertificateExpiry">;
  readonly clock: Clock;
}

/** Throws (with the key path) when the files do not load at start: check-config has said why already. */
export function startListenerTls(settings: ListenerTlsSettings, units: Units): RunningListenerTls {
  const { logger, metrics, clock } = units;
  const first = loadListenerTls(settings, clock.now());
  if (!first.ok) {
    const problem = first.problems[0];
    throw new Error(`listen.tls.${problem?.key ?? "certFile"}: ${problem?.message ?? "cannot be loaded"}`);
  }
  let current: LoadedTls = first.tls;
  logger.info(
    {
      serial: first.tls.serial,
      notAfter: new Date(first.tls.notAfterMs).toISOString(),
      clientCertificates:
        settings.clientCaFile === null ? "off" : settings.requireClientCertificate ? "required" : "asked, not enforced",
    },
    "TLS on for the gRPC and auth listeners",
  );
  const showExpiry = () => {
    metrics.tlsCertificateExpiry.reset();
    metrics.tlsCertificateExpiry.set({ serial: current.serial }, current.notAfterMs / 1000);
  };
  showExpiry();
  const listeners = new Set<(context: SecureContextOptions) => void>();
  const base: TlsOptions = {
    minVersion: settings.minVersion,
    requestCert: settings.clientCaFile !== null,
    rejectUnauthorized: settings.clientCaFile !== null && settings.requireClientCertificate,
  };

  const reload = (): boolean => {
    const next = loadListenerTls(settings, clock.now());
    if (!next.ok) return refused(units, next.problems);
    if (sameFiles(next.tls, current)) return false;
    const context = { ...next.tls.context, minVersion: settings.minVersion };
    // loadListenerTls built a secure context from these already, so a listener refusing them is not
    // expected; should one, the listeners before it keep the new pair and the rest the old one.
    for (const listener of listeners) {
      try {
        listener(context);
      } catch (error) {
        metrics.tlsReloads.inc({ result: "invalid" });
        logger.warn(
          { code: (error as { code?: string }).code },
          "TLS reload refused by a listener; the previous certificate still serves",
        );
        return false;
      }
    }
    const was = current.serial;
    current = next.tls;
    metrics.tlsReloads.inc({ result: "ok" });
    showExpiry();
    for (const w of current.warnings) logger.warn({ key: `listen.tls.${w.key}` }, w.message);
    logger.info(
      { serial: current.serial, previousSerial: was, notAfter: new Date(current.notAfterMs).toISOString() },
      "TLS certificate reloaded",
    );
    return true;
  };

  const watcher = watchTlsFiles(settings, () => void reload(), units);
  return {
    serverOptions: () => ({ ...base, ...current.context }),
    onReplace(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload,
    close: () => watcher?.close(),
  };
}

/** A set that does not load: counted, each problem logged with its key path; the old set serves on. */
function refused(units: Units, problems: readonly TlsFileIssue[]): false {
  units.metrics.tlsReloads.inc({ result: "invalid" });
  for (const p of problems) {
    units.logger.warn(
      { key: `listen.tls.${p.key}` },
      `TLS reload refused, the previous certificate still serves: ${p.message}`,
    );
  }
  return false;
}

/** The files watched for a change; null when their directory cannot be watched (SIGHUP still reloads). */
function watchTlsFiles(settings: ListenerTlsSettings, onChange: () => void, units: Units): FilesWatcher | null {
  const files = [
    settings.certFile,
    settings.keyFile,
    ...(settings.clientCaFile === null ? [] : [settings.clientCaFile]),
  ];
  try {
    return watchFiles(files, onChange, {
      clock: units.clock,
      logger: units.logger,
      fallback: "SIGHUP still reloads the certificate",
    });
  } catch (error) {
    units.logger.warn(
      { code: (error as NodeJS.ErrnoException).code },
      "cannot watch the TLS files; SIGHUP still reloads them",
    );
    return null;
  }
}

function sameFiles(a: LoadedTls, b: LoadedTls): boolean {
  const caA = a.context.ca;
  const caB = b.context.ca;
  const sameCa = caA === undefined || caB === undefined ? caA === caB : caA.equals(caB);
  return sameCa && a.context.cert.equals(b.context.cert) && a.context.key.equals(b.context.key);
}
