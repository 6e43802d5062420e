// The `listen.tls` part of the config schema: TLS, and optionally client-certificate verification, on
// the two listeners Envoy calls (gRPC ext_authz and the auth listener), for central mode without a
// mesh. Off (null certFile) it is plaintext, which is for loopback and meshes that encrypt themselves.
import { nonBlank } from "./configFormats.ts";
import type { ObjectNode } from "./configSchema.ts";

export const listenTlsNode = {
  kind: "object",
  description:
    'TLS on the gRPC (`listen.grpc`) and auth (`listen.auth`) listeners, so that Envoy in another pod or host talks to Portcullis encrypted and, with `clientCaFile`, authenticated. Off while `certFile` is null: plaintext is meant for loopback (sidecar) and meshes that encrypt themselves. The files are read and checked at start (`check-config` too), and watched: a Kubernetes Secret update (a symlink swap) or a rename over a file is used for the next handshakes without a restart, on every transport and every `--workers` worker; a pair that does not load keeps the previous one serving (a warning and `portcullis_tls_reloads_total{result="invalid"}`). The forward-auth listener of its own and the admin listener stay plaintext.',
  fields: {
    certFile: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "PEM certificate chain the listeners present (the server's certificate first), e.g. `/etc/portcullis/tls/tls.crt`; null = TLS off.",
    },
    keyFile: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description: "PEM private key of `certFile`'s certificate (unencrypted), e.g. `/etc/portcullis/tls/tls.key`.",
    },
    clientCaFile: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "PEM CA certificates that sign the clients' (Envoy's) certificates: a client must present one signed by them (see `requireClientCertificate`); null = no client certificate asked for.",
    },
    requireClientCertificate: {
      kind: "boolean",
      default: true,
      description:
        "With `clientCaFile`: refuse at the handshake a client without a certificate signed by it. false = ask for a certificate but refuse no client (none, or one `clientCaFile` did not sign): only while moving Envoy to client certificates, and check-config warns. Ignored without `clientCaFile`.",
    },
    minVersion: {
      kind: "string",
      enum: ["TLSv1.2", "TLSv1.3"],
      default: "TLSv1.2",
      description:
        "Oldest TLS version accepted. `TLSv1.3` is not available with `listen.grpcTransport: grpc-js` (it cannot set it).",
    },
  },
} as const satisfies ObjectNode;
