// The transport-free view of one request that the gate decides on. Every front door (Envoy gRPC
// today) converts its wire format into this; nothing here knows gRPC, protobuf or HTTP servers.
import type { ClientCertificate } from "./ClientCertificate.ts";

export interface AccessRequest {
  /** Envoy's x-request-id (or another correlation id); only for logs. */
  readonly requestId: string;
  readonly method: string;
  /** "http" or "https" as Envoy saw it; never taken from a client's X-Forwarded-Proto. */
  readonly scheme: string;
  /** The :authority as canonicalAuthority leaves it: lower-cased, no port, no trailing dot; as received when hostInvalid. */
  readonly host: string;
  /**
   * The :authority as the client sent it, port included (DPoP's `htu` names it); absent where a
   * front door does not give it, and then `host` stands in.
   */
  readonly authority?: string;
  /** The :authority is not one `host[:port]` (canonicalAuthority refused it); the gate denies with host_invalid. */
  readonly hostInvalid?: boolean;
  /** The raw path as received, query included; the gate normalises it. */
  readonly path: string;
  /** Request headers, names lower-cased. A repeated header arrives joined with ",". */
  readonly headers: ReadonlyMap<string, string>;
  /**
   * The downstream peer's IP address as the front door knows it (Envoy: attributes.source.address,
   * the TCP peer of its listener, never X-Forwarded-For); absent where it is not known (a pipe, or
   * the forward-auth endpoint, whose peer is the proxy).
   */
  readonly sourceAddress?: string;
  /**
   * The TLS server name the client's handshake asked for (Envoy: attributes.tls_session.sni, sent
   * with include_tls_session); absent when there was none or it was not sent.
   */
  readonly sni?: string;
  /** The client's TLS certificate as Envoy handed it over (include_peer_certificate); absent: none. */
  readonly clientCertificate?: ClientCertificate;
  /** Envoy sent a certificate that is not one readable certificate (too long, malformed): read as none. */
  readonly clientCertificateUnreadable?: boolean;
}
