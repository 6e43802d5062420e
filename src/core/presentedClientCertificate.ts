// The client certificate a request comes with on its route: Envoy's own peer certificate, or, on a
// route that trusts the hop in front (mtls.trustForwardedClientCert), what that proxy forwarded in
// x-forwarded-client-cert and nothing else (Envoy's peer there is the proxy, not the client).
import type { AccessRequest } from "./AccessRequest.ts";
import type { ClientCertificate } from "./ClientCertificate.ts";
import type { RouteBinding } from "./compileRouteBinding.ts";
import { FORWARDED_CLIENT_CERT_HEADER, parseForwardedClientCert } from "./parseForwardedClientCert.ts";

export type PresentedCertificate =
  | { readonly ok: true; readonly certificate: ClientCertificate }
  /** No certificate, or one that cannot be read: `problem` says which, for the log. */
  | { readonly ok: false; readonly problem: string };

export function presentedClientCertificate(request: AccessRequest, binding: RouteBinding | null): PresentedCertificate {
  if (binding?.trustForwardedClientCert === true) {
    const header = request.headers.get(FORWARDED_CLIENT_CERT_HEADER);
    if (header === undefined) return { ok: false, problem: "no x-forwarded-client-cert from the trusted hop" };
    return parseForwardedClientCert(header, binding.forwardedClientCertElements);
  }
  const certificate = request.clientCertificate;
  if (certificate !== undefined) return { ok: true, certificate };
  return {
    ok: false,
    problem:
      request.clientCertificateUnreadable === true
        ? "the client certificate Envoy sent cannot be read"
        : "no client certificate (mTLS and include_peer_certificate on the Envoy listener?)",
  };
}
