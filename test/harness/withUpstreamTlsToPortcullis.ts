// Rewrites a rendered envoy/demo.yaml so that Envoy talks TLS to Portcullis's gRPC and auth listeners
// (an UpstreamTlsContext on both clusters, SNI localhost, the test CA), as envoy/replicas.yaml ships
// it for central mode; optionally with Envoy's client certificate for `listen.tls.clientCaFile`.

export interface UpstreamTlsFiles {
  readonly caFile: string;
  /** Envoy's client certificate; absent: Envoy presents none. */
  readonly client?: { readonly certFile: string; readonly keyFile: string };
}

function transportSocket(files: UpstreamTlsFiles, alpn: string): string {
  const client =
    files.client === undefined
      ? ""
      : `
            tls_certificates:
              - certificate_chain: { filename: ${files.client.certFile} }
                private_key: { filename: ${files.client.keyFile} }`;
  return `
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          sni: localhost
          common_tls_context:
            alpn_protocols: [${alpn}]
            validation_context:
              trusted_ca: { filename: ${files.caFile} }
              match_typed_subject_alt_names:
                - san_type: DNS
                  matcher: { exact: localhost }${client}`;
}

export function withUpstreamTlsToPortcullis(rendered: string, files: UpstreamTlsFiles): string {
  let out = rendered;
  for (const [cluster, alpn] of [
    ["portcullis_ext_authz", "h2"],
    ["portcullis_auth", "http/1.1"],
  ] as const) {
    const at = `    - name: ${cluster}\n      type: STATIC\n      connect_timeout: 1s`;
    if (!out.includes(at)) throw new Error(`the Envoy config has no ${cluster} cluster to rewrite`);
    out = out.replace(at, `${at}${transportSocket(files, alpn)}`);
  }
  return out;
}
