// The serial number of the certificate a TLS listener presents to a new connection (ALPN h2 or
// http/1.1), with a client certificate when the listener asks for one: what a rotation test watches.
import { connect } from "node:tls";

export interface ServedCertificateOptions {
  readonly port: number;
  readonly ca: string;
  readonly alpn?: string;
  readonly client?: { readonly cert: string; readonly key: string };
}

export function servedCertificateSerial(options: ServedCertificateOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: "127.0.0.1",
      port: options.port,
      servername: "localhost",
      ca: options.ca,
      ALPNProtocols: [options.alpn ?? "h2"],
      ...(options.client === undefined ? {} : options.client),
      timeout: 5000,
    });
    socket.once("secureConnect", () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.once("error", reject);
    socket.once("timeout", () => {
      socket.destroy();
      reject(new Error("TLS handshake timed out"));
    });
  });
}
