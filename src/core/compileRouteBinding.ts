// Compiles a route's sender-constrained-token settings once at start-up (`require.boundTokens` and the
// `mtls` block) into what the gate and the token binding read per request. A route that sets none of
// them compiles to null, so the gate's only per-check cost on it is that one null check.
import type { RouteConfig } from "../config/PortcullisConfig.ts";
import type { ClientCertificate } from "./ClientCertificate.ts";
import type { ForwardedElements } from "./parseForwardedClientCert.ts";

export type BoundTokens = "mtls" | "dpop" | "any" | "none";

/** A machine admitted by its certificate alone: how it is recognised and the claims it is given. */
export interface CertificateClient {
  matches(certificate: ClientCertificate): boolean;
  /** `{ client_id }`, frozen: the same object for every request of this client (its answers are kept by it). */
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface RouteBinding {
  /** The route's own `require.boundTokens`; null: the verifying provider's. */
  readonly boundTokens: BoundTokens | null;
  /** The client certificate comes from x-forwarded-client-cert, never from Envoy's peer. */
  readonly trustForwardedClientCert: boolean;
  readonly forwardedClientCertElements: ForwardedElements;
  /** Machines admitted by certificate; empty = none. */
  readonly clients: readonly CertificateClient[];
}

type MtlsConfig = NonNullable<RouteConfig["mtls"]>;
type ClientConfig = MtlsConfig["clients"][number];

export function compileRouteBinding(route: RouteConfig): RouteBinding | null {
  const boundTokens = route.require?.boundTokens ?? null;
  const mtls = route.mtls;
  const clients = (mtls?.clients ?? []).map(compileClient);
  const trust = mtls?.trustForwardedClientCert === true;
  if (boundTokens === null && clients.length === 0 && !trust) return null;
  return Object.freeze({
    boundTokens,
    trustForwardedClientCert: trust,
    forwardedClientCertElements: mtls?.forwardedClientCertElements ?? "one",
    clients: Object.freeze(clients),
  });
}

function compileClient(client: ClientConfig): CertificateClient {
  const claims = Object.freeze({ client_id: client.clientId });
  const { spiffeId, uri, dnsName, subject, thumbprint } = client;
  // The config rules allow exactly one selector; a client without one (a config built in code) matches nothing.
  const matches =
    typeof spiffeId === "string"
      ? // An X.509-SVID carries exactly one URI SAN (SPIFFE X509-SVID §2); more is not an SVID.
        (c: ClientCertificate) => c.uris.length === 1 && c.uris[0] === spiffeId
      : typeof uri === "string"
        ? (c: ClientCertificate) => c.uris.includes(uri)
        : typeof dnsName === "string"
          ? (c: ClientCertificate) => c.dnsNames.includes(dnsName.toLowerCase())
          : typeof subject === "string"
            ? (c: ClientCertificate) => c.subject === subject
            : typeof thumbprint === "string"
              ? (c: ClientCertificate) => c.thumbprint === thumbprint
              : () => false;
  return { matches, claims };
}
