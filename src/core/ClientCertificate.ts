// The client's TLS certificate as the gate reads it (RFC 8705): what Envoy handed over with the
// Check (attributes.source.certificate) or what a trusted proxy forwarded (x-forwarded-client-cert),
// reduced once to the few things a decision compares. Portcullis checks no chain: Envoy (or the
// trusted proxy) verified it against the configured CA before passing it on.

export interface ClientCertificate {
  /** SHA-256 of the DER, base64url without padding: what `cnf["x5t#S256"]` names. */
  readonly thumbprint: string;
  /**
   * The subject in RFC 4514 form as OpenSSL and Envoy write it (`CN=billing,O=Example`: most specific
   * first, `+` inside an RDN, bytes above 0x7f as `\XX`); null when unknown.
   */
  readonly subject: string | null;
  /** URI subject alternative names (SPIFFE IDs among them), at most MAX_CERTIFICATE_NAMES. */
  readonly uris: readonly string[];
  /** DNS subject alternative names, lower-cased, at most MAX_CERTIFICATE_NAMES. */
  readonly dnsNames: readonly string[];
}

/** A URL-encoded PEM longer than this is not read (a client certificate is 1-3 KB; chains are not sent). */
export const MAX_CLIENT_CERTIFICATE_CHARS = 16 * 1024;
/** SAN entries kept per kind; a certificate with more is not read at all. */
export const MAX_CERTIFICATE_NAMES = 32;
