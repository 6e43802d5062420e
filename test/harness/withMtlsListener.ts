// Rewrites the stack's rendered (shipped) Envoy config for mTLS tests: a second listener `mtls`, a
// copy of `https` whose TLS context requires a client certificate signed by the test CA (server
// certificate from the same CA), and ext_authz with include_peer_certificate on both, as
// `check-config --envoy` prints it for a config that uses mTLS. The `https` listener stays as it is:
// a client there presents no certificate. `forwardClientCert` sets the mtls listener's
// forward_client_cert_details (FORWARD_ONLY lets a client's own x-forwarded-client-cert through, to
// show that Portcullis ignores it on a route that does not trust the hop; SANITIZE_SET makes Envoy
// write its own element for the client's certificate: Hash, Subject, URI and DNS).
import { parse, stringify } from "yaml";
import type { TestPki } from "./createTestPki.ts";

type Json = Record<string, any>;

export interface MtlsListenerOptions {
  readonly forwardClientCert?: "SANITIZE" | "FORWARD_ONLY" | "SANITIZE_SET";
}

export function withMtlsListener(rendered: string, pki: TestPki, options: MtlsListenerOptions = {}): string {
  const config = parse(rendered) as Json;
  const listeners = config["static_resources"].listeners as Json[];
  const https = listeners.find((l) => l["name"] === "https");
  if (https === undefined) throw new Error("the rendered Envoy config has no https listener");
  for (const filter of httpFilters(https))
    if (filter["name"] === "envoy.filters.http.ext_authz") filter["typed_config"]["include_peer_certificate"] = true;
  const mtls = structuredClone(https) as Json;
  mtls["name"] = "mtls";
  mtls["address"].socket_address.port_value = 0;
  const chain = mtls["filter_chains"][0] as Json;
  const tls = chain["transport_socket"].typed_config as Json;
  tls["require_client_certificate"] = true;
  tls["common_tls_context"].tls_certificates = [
    { certificate_chain: { filename: pki.server.certFile }, private_key: { filename: pki.server.keyFile } },
  ];
  tls["common_tls_context"].validation_context = { trusted_ca: { filename: pki.caFile } };
  const hcm = chain["filters"][0].typed_config as Json;
  hcm["stat_prefix"] = "ingress_mtls";
  hcm["forward_client_cert_details"] = options.forwardClientCert ?? "SANITIZE";
  if (options.forwardClientCert === "SANITIZE_SET")
    hcm["set_current_client_cert_details"] = { subject: true, uri: true, dns: true };
  listeners.push(mtls);
  return stringify(config);
}

function httpFilters(listener: Json): Json[] {
  return (listener["filter_chains"] as Json[]).flatMap((chain) =>
    (chain["filters"] as Json[]).flatMap((f) => (f["typed_config"]?.http_filters ?? []) as Json[]),
  );
}
