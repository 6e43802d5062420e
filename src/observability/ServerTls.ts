// TLS for the auth HTTP listener: the server's options now, and each replacement
// key pair and CA as the files change (app/startListenerTls.ts), for tls.Server#setSecureContext.
// transport/ServerTls.ts is the same shape for the gRPC listener (rooms do not share types).
import type { SecureContextOptions, TlsOptions } from "node:tls";

export interface ServerTls {
  /** Key pair, client CA, minVersion, requestCert and rejectUnauthorized for createServer. */
  serverOptions(): TlsOptions;
  /** Calls back with each new key pair and CA; throwing tells the source it failed. Returns the unsubscribe. */
  onReplace(listener: (context: SecureContextOptions) => void): () => void;
}
