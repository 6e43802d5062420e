// The Envoy bootstrap for the comparison: loopback listeners on ephemeral ports that differ only in
// their auth filter — none, native jwt_authn (inline JWKS, JWT cache on), ext_authz gRPC to a no-op
// Check server (grpc-js, and grpc-go when it was built), ext_authz gRPC to Portcullis (plaintext, and
// over mTLS with the shipped UpstreamTlsContext when that Portcullis runs), ext_authz HTTP to
// oauth2-proxy when it was built — all routing to the same upstream. Rendered as
// JSON, which Envoy reads as YAML. Every ext_authz gRPC listener uses the shipped configs' filter,
// allowed_headers included (those the bench's Portcullis config reads), so the no-op servers are
// sent the same headers as Portcullis.
import { randomBytes } from "node:crypto";
import { allowedHeaderPatterns } from "../src/app/envoyAllowedHeaders.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { shippedUpstreamTls, type UpstreamTlsFiles } from "./shippedUpstreamTls.ts";
import { renderPortcullisConfig } from "./startPortcullis.ts";

export const LISTENER_NAMES = {
  noAuth: "no_auth",
  jwtAuthn: "jwt_authn",
  noopExtAuthz: "ext_authz_noop",
  noopGoExtAuthz: "ext_authz_noop_go",
  oauth2Proxy: "ext_authz_oauth2_proxy",
  extAuthz: "ext_authz",
  extAuthzMtls: "ext_authz_mtls",
} as const;

/** The cluster of the mTLS route: its ssl.* stats count Envoy's handshakes with Portcullis. */
export const PORTCULLIS_MTLS_CLUSTER = "portcullis_mtls";

export interface EnvoyConfigInput {
  readonly upstreamPort: number;
  /** The no-op grpc-js Check server: the ext_authz_noop listener's authorization service. */
  readonly noopCheckGrpcPort: number;
  /** The no-op grpc-go Check server (null: not built, its listener and cluster are left out). */
  readonly noopGoCheckGrpcPort: number | null;
  /** oauth2-proxy's HTTP port (null: not built, its listener and cluster are left out). */
  readonly oauth2ProxyPort: number | null;
  /** null: Portcullis is not available, the ext_authz listener and its cluster are left out. */
  readonly portcullisGrpcPort: number | null;
  /** The second Portcullis, serving listen.tls with a client certificate required (absent or null: left out). */
  readonly portcullisMtls?: { readonly grpcPort: number; readonly tls: UpstreamTlsFiles } | null;
  readonly issuer: string;
  readonly audience: string;
  readonly jwks: object;
}

export const loopback = (port: number) => ({ socket_address: { address: "127.0.0.1", port_value: port } });

export function staticCluster(name: string, port: number, extra: object = {}) {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: loopback(port) } }] }] },
    ...extra,
  };
}

// gRPC needs HTTP/2 to the cluster.
export const http2Only = {
  typed_extension_protocol_options: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
};

// The two ext_authz listeners use this same filter and differ only in the cluster it calls, so the
// no-op route isolates what the Check server itself costs.
function extAuthzFilter(clusterName: string) {
  return {
    name: "envoy.filters.http.ext_authz",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
      // As the shipped configs: no x-envoy-internal, x-forwarded-for or x-envoy-expected-rq-timeout-ms on the call.
      grpc_service: { envoy_grpc: { cluster_name: clusterName, skip_envoy_headers: true }, timeout: "1s" },
      transport_api_version: "V3",
      failure_mode_allow: false,
      status_on_error: { code: "ServiceUnavailable" },
      include_peer_certificate: false,
      allowed_headers: { patterns: benchAllowedHeaders() },
    },
  };
}

/** The allowed_headers of the bench's Portcullis config; they depend on none of its per-run values. */
export function benchAllowedHeaders(): { exact: string }[] {
  const raw = renderPortcullisConfig({
    issuer: "https://issuer.invalid",
    audience: "bench-api",
    sessionKey: randomBytes(32).toString("base64"),
  });
  const parsed = parseConfig(JSON.parse(raw));
  if (!parsed.ok) throw new Error(`the bench's Portcullis config: ${JSON.stringify(parsed.problems)}`);
  return allowedHeaderPatterns(parsed.config);
}

// oauth2-proxy answers ext_authz over HTTP: Envoy asks path_prefix + the request's path, with the
// credential headers, and passes the identity headers of a 200 on to the upstream.
function oauth2ProxyFilter() {
  const exact = (names: string[]) => ({ patterns: names.map((n) => ({ exact: n })) });
  return {
    name: "envoy.filters.http.ext_authz",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
      http_service: {
        server_uri: { uri: "http://oauth2-proxy", cluster: "oauth2_proxy", timeout: "1s" },
        path_prefix: "/oauth2/auth",
        authorization_request: { allowed_headers: exact(["authorization", "cookie"]) },
        authorization_response: {
          allowed_upstream_headers: exact(["x-auth-request-user", "x-auth-request-email"]),
        },
      },
      transport_api_version: "V3",
      failure_mode_allow: false,
    },
  };
}

export function listener(name: string, authFilters: object[]) {
  return {
    name,
    address: loopback(0),
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type":
                "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: name,
              codec_type: "AUTO",
              route_config: {
                name: "bench",
                virtual_hosts: [
                  { name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "upstream" } }] },
                ],
              },
              http_filters: [
                ...authFilters,
                {
                  name: "envoy.filters.http.router",
                  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

export function renderEnvoyConfig(input: EnvoyConfigInput): string {
  const jwtAuthn = {
    name: "envoy.filters.http.jwt_authn",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
      providers: {
        bench: {
          issuer: input.issuer,
          audiences: [input.audience],
          local_jwks: { inline_string: JSON.stringify(input.jwks) },
          // Like Portcullis (identity.forwardAuthorization off by default): the upstream gets identity
          // headers, not the token; and a token already verified is not verified again.
          forward: false,
          claim_to_headers: [
            { header_name: "x-user-sub", claim_name: "sub" },
            { header_name: "x-user-email", claim_name: "email" },
          ],
          jwt_cache_config: { jwt_cache_size: 1000 },
        },
      },
      rules: [{ match: { prefix: "/" }, requires: { provider_name: "bench" } }],
    },
  };
  const listeners = [
    listener(LISTENER_NAMES.noAuth, []),
    listener(LISTENER_NAMES.jwtAuthn, [jwtAuthn]),
    listener(LISTENER_NAMES.noopExtAuthz, [extAuthzFilter("noop_check")]),
  ];
  const clusters: object[] = [
    staticCluster("upstream", input.upstreamPort),
    staticCluster("noop_check", input.noopCheckGrpcPort, http2Only),
  ];
  if (input.oauth2ProxyPort !== null) {
    listeners.push(listener(LISTENER_NAMES.oauth2Proxy, [oauth2ProxyFilter()]));
    clusters.push(staticCluster("oauth2_proxy", input.oauth2ProxyPort));
  }
  if (input.noopGoCheckGrpcPort !== null) {
    listeners.push(listener(LISTENER_NAMES.noopGoExtAuthz, [extAuthzFilter("noop_go_check")]));
    clusters.push(staticCluster("noop_go_check", input.noopGoCheckGrpcPort, http2Only));
  }
  if (input.portcullisGrpcPort !== null) {
    listeners.push(listener(LISTENER_NAMES.extAuthz, [extAuthzFilter("portcullis")]));
    clusters.push(staticCluster("portcullis", input.portcullisGrpcPort, http2Only));
  }
  if (input.portcullisMtls) {
    // The same filter; only the cluster differs: TLS with the shipped UpstreamTlsContext.
    listeners.push(listener(LISTENER_NAMES.extAuthzMtls, [extAuthzFilter(PORTCULLIS_MTLS_CLUSTER)]));
    clusters.push(
      staticCluster(PORTCULLIS_MTLS_CLUSTER, input.portcullisMtls.grpcPort, {
        ...http2Only,
        transport_socket: shippedUpstreamTls(input.portcullisMtls.tls),
      }),
    );
  }
  return JSON.stringify({ admin: { address: loopback(0) }, static_resources: { listeners, clusters } }, null, 2);
}
