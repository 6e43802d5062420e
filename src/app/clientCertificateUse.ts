// Whether a config reads client certificates, and from where: Envoy's peer certificate (so its
// ext_authz filter needs include_peer_certificate: true) and/or x-forwarded-client-cert from a trusted
// hop (so allowed_headers must carry it). A config that demands nothing of the kind leaves both off:
// a bound token there is still checked, and refused without a certificate (fail closed).
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";

export interface ClientCertificateUse {
  /** Some route reads Envoy's own peer certificate. */
  readonly peer: boolean;
  /** Some route reads x-forwarded-client-cert from a hop it trusts. */
  readonly forwarded: boolean;
}

const CERTIFICATE_DEMANDS = new Set(["mtls", "any"]);

/** Some provider demands certificate-bound tokens (mtls or any): what the route table is told too. */
export function providersDemandCertificates(config: PortcullisConfig): boolean {
  return Object.values(config.providers).some((p) => CERTIFICATE_DEMANDS.has(p.boundTokens ?? "none"));
}

export function clientCertificateUse(config: PortcullisConfig): ClientCertificateUse {
  const providerDemands = providersDemandCertificates(config);
  let peer = false;
  let forwarded = false;
  for (const route of config.routes) {
    const own = route.require?.boundTokens ?? null;
    const demands = own === null ? providerDemands : CERTIFICATE_DEMANDS.has(own);
    const reads = demands || (route.mtls?.clients ?? []).length > 0;
    if (route.mtls?.trustForwardedClientCert === true) forwarded = true;
    else if (reads) peer = true;
  }
  return { peer, forwarded };
}
