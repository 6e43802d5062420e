// The files and version of `listen.tls` when TLS is on (certFile and keyFile set), else null: the
// one reading of that key for check-config, the listeners and the reload watcher.
import type { PartialConfig } from "../config/checkConfigRules.ts";
import type { ListenerTlsFiles } from "./loadListenerTls.ts";

type TlsSection = NonNullable<PartialConfig["listen"]>["tls"];

export function listenerTlsFiles(tls: TlsSection): ListenerTlsFiles | null {
  if (typeof tls?.certFile !== "string" || typeof tls.keyFile !== "string") return null;
  return {
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    clientCaFile: typeof tls.clientCaFile === "string" ? tls.clientCaFile : null,
    minVersion: tls.minVersion === "TLSv1.3" ? "TLSv1.3" : "TLSv1.2",
  };
}
