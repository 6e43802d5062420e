{{/*
Sidecar mode: the Envoy config (envoy/production-example.yaml's settings, every cluster on the pod's
loopback) and the Envoy container. test/e2e/deployHelm.test.ts validates the rendered config with
the pinned Envoy (`envoy --mode validate`).
*/}}
{{- define "portcullis.envoyConfig" -}}
{{- $e := .Values.sidecar.envoy -}}
# Envoy in front of the app, in the same pod as Portcullis (Helm chart, mode: sidecar).
#   client ──► :{{ $e.port }} Envoy ──ext_authz gRPC──► 127.0.0.1:{{ .Values.ports.grpc }} Portcullis
#                   │ ├──── /oauth2/* ─────► 127.0.0.1:{{ .Values.ports.auth }} Portcullis (login callback, sign-out)
#                   │ └──── everything else ► 127.0.0.1:{{ .Values.sidecar.app.port }} the app (x-user-* headers set)
# A node identity, which file-based SDS (the TLS certificate) requires.
node:
  id: {{ include "portcullis.fullname" . }}
  cluster: {{ include "portcullis.fullname" . }}
admin:
  # Loopback only: the admin interface can drain listeners and dump config.
  address:
    socket_address: { address: 127.0.0.1, port_value: {{ $e.adminPort }} }
overload_manager:
  resource_monitors:
    - name: envoy.resource_monitors.global_downstream_max_connections
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
        max_active_downstream_connections: 10000
static_resources:
  listeners:
    - name: main
      address:
        socket_address: { address: 0.0.0.0, port_value: {{ $e.port }} }
      per_connection_buffer_limit_bytes: 32768
      filter_chains:
        - {{- if $e.tls.secretName }}
          transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              common_tls_context:
                alpn_protocols: [h2, http/1.1]
                tls_params:
                  tls_minimum_protocol_version: TLSv1_2
                # Through file-based SDS: Envoy re-reads the certificate and key when the kubelet
                # swaps a renewed Secret into /etc/envoy/tls (cert-manager), without a restart.
                tls_certificate_sds_secret_configs:
                  - name: tls
                    sds_config:
                      resource_api_version: V3
                      path_config_source:
                        path: /etc/envoy/config/tls-sds.yaml
          {{- end }}
          filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: ingress
                codec_type: AUTO
                # SECURITY: Portcullis matches its routes on the path Envoy normalised.
                normalize_path: true
                merge_slashes: true
                path_with_escaped_slashes_action: REJECT_REQUEST
                # SECURITY: trust no client-sent X-Forwarded-For beyond the load balancers you run.
                use_remote_address: true
                xff_num_trusted_hops: {{ $e.xffNumTrustedHops }}
                common_http_protocol_options:
                  # SECURITY: x_user_sub must not reach an upstream that folds it into x-user-sub.
                  headers_with_underscores_action: REJECT_REQUEST
                  idle_timeout: 300s
                request_headers_timeout: 10s
                stream_idle_timeout: 60s
                max_request_headers_kb: 64
                route_config:
                  name: app
                  virtual_hosts:
                    - name: app
                      domains: {{ toJson $e.domains }}
                      routes:
                        # SECURITY: only Portcullis's own /oauth2/ endpoints skip ext_authz.
                        - match: { prefix: "/oauth2/" }
                          route: { cluster: portcullis_auth, timeout: 10s }
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        - match: { prefix: "/" }
                          route: { cluster: app, timeout: {{ $e.upstreamTimeout }} }
                http_filters:
                  - name: envoy.filters.http.ext_authz
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
                      transport_api_version: V3
                      # SECURITY: fail closed: Portcullis unreachable or slow means 503, never a pass.
                      failure_mode_allow: false
                      status_on_error: { code: ServiceUnavailable }
                      include_peer_certificate: false
                      grpc_service:
                        envoy_grpc: { cluster_name: portcullis_ext_authz }
                        timeout: {{ $e.extAuthzTimeout }}
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
    # For the kubelet: GET /ready is Envoy's own readiness (from the loopback admin), nothing else.
    - name: health
      address:
        socket_address: { address: 0.0.0.0, port_value: {{ $e.healthPort }} }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: health
                route_config:
                  name: health
                  virtual_hosts:
                    - name: health
                      domains: ["*"]
                      routes:
                        - match: { path: "/ready", headers: [{ name: ":method", string_match: { exact: GET } }] }
                          route: { cluster: envoy_admin, timeout: 2s }
                        - match: { prefix: "/" }
                          direct_response: { status: 404 }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: portcullis_ext_authz
      type: STATIC
      connect_timeout: 1s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config:
            http2_protocol_options: {}
      load_assignment:
        cluster_name: portcullis_ext_authz
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: 127.0.0.1, port_value: {{ .Values.ports.grpc }} }
    - name: portcullis_auth
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: portcullis_auth
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: 127.0.0.1, port_value: {{ .Values.ports.auth }} }
    - name: app
      type: STATIC
      connect_timeout: 2s
      load_assignment:
        cluster_name: app
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: 127.0.0.1, port_value: {{ .Values.sidecar.app.port }} }
    - name: envoy_admin
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: envoy_admin
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: { address: 127.0.0.1, port_value: {{ $e.adminPort }} }
{{- end }}

{{/* The file-based SDS resource of the TLS certificate (sidecar.envoy.tls.secretName set). */}}
{{- define "portcullis.envoyTlsSds" -}}
resources:
  - "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
    name: tls
    tls_certificate:
      certificate_chain: { filename: /etc/envoy/tls/tls.crt }
      private_key: { filename: /etc/envoy/tls/tls.key }
      # The kubelet renames ..data in this directory when the Secret changes.
      watched_directory: { path: /etc/envoy/tls }
{{- end }}

{{- define "portcullis.envoyContainer" -}}
{{- $e := .Values.sidecar.envoy -}}
- name: envoy
  image: {{ $e.image }}
  imagePullPolicy: {{ $e.imagePullPolicy }}
  command: ["envoy"]
  args: ["-c", "/etc/envoy/config/envoy.yaml", "--log-level", {{ $e.logLevel | quote }}, "--disable-hot-restart"]
  ports:
    - name: http
      containerPort: {{ $e.port }}
    - name: envoy-health
      containerPort: {{ $e.healthPort }}
  livenessProbe:
    httpGet:
      path: /ready
      port: envoy-health
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /ready
      port: envoy-health
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 2
  lifecycle:
    preStop:
      exec:
        # Keep serving while the pod leaves the Service's endpoints.
        command: ["sleep", "{{ .Values.preStopSleepSeconds }}"]
  resources:
    {{- toYaml $e.resources | nindent 4 }}
  securityContext:
    {{- toYaml (merge (dict "runAsUser" $e.runAsUser "runAsGroup" $e.runAsGroup) (deepCopy .Values.securityContext)) | nindent 4 }}
  volumeMounts:
    - name: envoy-config
      mountPath: /etc/envoy/config
      readOnly: true
    {{- if $e.tls.secretName }}
    - name: envoy-tls
      mountPath: /etc/envoy/tls
      readOnly: true
    {{- end }}
    - name: tmp
      mountPath: /tmp
{{- end }}
