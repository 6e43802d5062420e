// Cross-field rules of `listen.tls`: a certificate goes with its key, a client CA needs TLS on, and
// TLS 1.3 as the minimum needs a transport that can set it (grpc-js cannot). The files themselves
// are read by app/checkListenTlsFiles.ts (the config room reads no TLS material).
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";

export function checkListenTlsRules(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const tls = config.listen?.tls;
  if (tls === undefined) return;
  const hasCert = typeof tls.certFile === "string";
  const hasKey = typeof tls.keyFile === "string";
  if (hasCert && !hasKey) {
    problems.push({
      path: "listen.tls.keyFile",
      message: "is required with certFile: the PEM private key of its certificate",
    });
  }
  if (hasKey && !hasCert) {
    problems.push({
      path: "listen.tls.certFile",
      message: "is required with keyFile: the PEM certificate chain of that key",
    });
  }
  if (!hasCert && typeof tls.clientCaFile === "string") {
    problems.push({
      path: "listen.tls.clientCaFile",
      message: "client certificates are verified only over TLS: set certFile and keyFile too, or remove clientCaFile",
    });
  }
  if (hasCert && typeof tls.clientCaFile === "string" && tls.requireClientCertificate === false) {
    // The listeners then ask for a certificate but hold no client to it: a migration step, not a control.
    warnings.push({
      path: "listen.tls.requireClientCertificate",
      message:
        "false lets any client in, with or without a certificate and whether or not clientCaFile signed it: only for moving Envoy to client certificates; set true once it presents one",
    });
  }
  if (hasCert && tls.minVersion === "TLSv1.3" && config.listen?.grpcTransport === "grpc-js") {
    problems.push({
      path: "listen.tls.minVersion",
      message:
        'TLSv1.3 cannot be enforced by listen.grpcTransport grpc-js: use "net" (the default) or "http2", or TLSv1.2',
    });
  }
}
