// The Envoy ext_authz HTTP filter for a Portcullis config, as YAML to paste into an Envoy config's
// http_filters (what `portcullis check-config --envoy` prints): the settings the shipped Envoy
// configs use, with the allowed_headers this config needs, each header with the reason it is sent.

import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { clientCertificateUse } from "./clientCertificateUse.ts";
import { envoyAllowedHeaders, requestConditionSets } from "./envoyAllowedHeaders.ts";

export interface ExtAuthzFilterOptions {
  /** The Envoy cluster of Portcullis's gRPC listener; default portcullis_ext_authz. */
  readonly clusterName?: string;
  /** Envoy's wait for a Check answer; default 1s. */
  readonly timeout?: string;
}

export function renderEnvoyExtAuthzFilter(config: PortcullisConfig, options: ExtAuthzFilterOptions = {}): string {
  const lines: string[] = [];
  let reason = "";
  for (const { name, why } of envoyAllowedHeaders(config)) {
    if (why !== reason) lines.push(`        # ${(reason = why)}`);
    // Plain names stay plain; any other token character is quoted, so no name can be read as YAML.
    lines.push(`        - exact: ${/^[a-z0-9-]+$/.test(name) ? name : JSON.stringify(name)}`);
  }
  const headers = lines.join("\n");
  const peerCertificate = clientCertificateUse(config).peer
    ? `    # mTLS: the client certificate (its thumbprint for cnf x5t#S256 tokens, its names for mtls.clients).
    # The listener must require and verify it (DownstreamTlsContext: require_client_certificate, a
    # validation_context with your CA): Portcullis trusts what Envoy hands over.
    include_peer_certificate: true`
    : `    # Portcullis reads neither the client certificate nor the body.
    include_peer_certificate: false`;
  // Without it Envoy leaves tls_session out, every request reads as having no SNI and no sni condition holds.
  const tlsSession = requestConditionSets(config).some(({ conditions }) => (conditions.sni ?? []).length > 0)
    ? `
    # sni conditions: the TLS server name the client asked for (attributes.tls_session.sni).
    include_tls_session: true`
    : "";
  return `# Envoy's ext_authz filter for this Portcullis config, the first of the listener's http_filters.
# allowed_headers lists the request headers Portcullis reads; Envoy sends it no other. Print this
# again after changing browser login (a provider's clientId/redirectUri, session.keys), tracing,
# policy.removeRequestHeaders, mTLS (boundTokens, routes' mtls) or request conditions (headers, sni,
# trustedForwardedHops): portcullis check-config --config FILE --envoy
- name: envoy.filters.http.ext_authz
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
    transport_api_version: V3
    # SECURITY: fail closed: Portcullis unreachable or slow means 503, never a pass.
    failure_mode_allow: false
    status_on_error: { code: ServiceUnavailable }
${peerCertificate}${tlsSession}
    grpc_service:
      # No x-envoy-internal or x-forwarded-for on the Check call: Portcullis reads neither.
      envoy_grpc: { cluster_name: ${options.clusterName ?? "portcullis_ext_authz"}, skip_envoy_headers: true }
      timeout: ${options.timeout ?? "1s"}
    allowed_headers:
      patterns:
${headers}
`;
}
