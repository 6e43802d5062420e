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
# The path_encoding_invalid route's regex (the well-formed escapes) is larger than Envoy's default
# RE2 program-size limit of 100; 256 leaves room and still refuses a runaway regex.
layered_runtime:
  layers:
    - name: static
      static_layer:
        re2.max_program_size.error_level: 256
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
                # One JSON line per request on stdout. request_id is the x-request-id Envoy makes for every
                # client request (a client's own is replaced) and passes to Portcullis, whose log lines
                # carry it as requestId, and to the upstream: the three logs join on it. The path is
                # logged without its query, which can carry codes and tokens. `kubectl logs -c envoy`.
                access_log:
                  - name: envoy.access_loggers.stdout
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
                      log_format:
                        json_format:
                          time: "%START_TIME%"
                          request_id: "%REQ(X-REQUEST-ID)%"
                          client: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
                          method: "%REQ(:METHOD)%"
                          authority: "%REQ(:AUTHORITY):256%"
                          path: "%PATH(NQ):1024%"
                          protocol: "%PROTOCOL%"
                          status: "%RESPONSE_CODE%"
                          flags: "%RESPONSE_FLAGS%"
                          details: "%RESPONSE_CODE_DETAILS%"
                          route: "%ROUTE_NAME%"
                          upstream: "%UPSTREAM_CLUSTER%"
                          duration_ms: "%DURATION%"
                          bytes_sent: "%BYTES_SENT%"
                          # Portcullis's answer, from its dynamic metadata (identity.metadata.enabled; without it
                          # both are null and Envoy's route and details are all there is): the route it matched and,
                          # on a denial, its code (token_missing, insufficient_scope, ...). A null code is an allow;
                          # details says ext_authz_denied or ext_authz_error when Envoy refused. Who the caller was
                          # (sub, email) is not logged by default: personal data (per-user-rate-limit.yaml shows how).
                          auth_route: "%DYNAMIC_METADATA(envoy.filters.http.ext_authz:portcullis:route):128%"
                          auth_code: "%DYNAMIC_METADATA(envoy.filters.http.ext_authz:portcullis:code):64%"
                route_config:
                  name: app
                  # SECURITY: headers with which a client could make a framework serve another host, path or
                  # method (X-Forwarded-Host, X-Original-URL, X-HTTP-Method-Override, ...) never reach the
                  # upstream. Portcullis removes them too; add back one your app needs from a trusted value.
                  request_headers_to_remove: [x-forwarded-host, x-forwarded-prefix, forwarded, x-original-url, x-rewrite-url, x-http-method-override, x-method-override, x-http-method]
                  virtual_hosts:
                    - name: app
                      domains: {{ toJson $e.domains }}
                      routes:
                        # SECURITY: Envoy itself answers 400 to what Portcullis refuses, before every other route (the
                        # /oauth2/ one too, where ext_authz is off), so no route passes these on to an upstream:
                        # - path shapes that common servers read as another path: ';' parameters (raw or %3B), %25,
                        #   a segment ending in '.' or in an encoded space or tab, invalid UTF-8 lead bytes. Matched
                        #   after normalisation (%2E is '.' by then) on the path without its query.
                        - name: path_invalid
                          match: { safe_regex: { regex: '.*(;|%3[Bb]|%25|\.(/|$)|%2[Ee](/|$)|%(20|09)(/|$)|%[Cc][01]|%[Ff][5-9A-Fa-f]).*' } }
                          direct_response: { status: 400, body: { inline_string: '{"error":"path_invalid","error_description":"the request path is not acceptable"}' } }
                          response_headers_to_add: [{ header: { key: content-type, value: application/json }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        # - escapes that are not well-formed UTF-8 (overlong forms, stray continuation bytes, surrogates),
                        #   malformed ones ('%' without two hex digits) and control characters: :path must match the
                        #   regex of well-formed escapes (the query is not looked at; the regex needs the raised
                        #   re2.max_program_size in layered_runtime).
                        - name: path_encoding_invalid
                          match:
                            prefix: "/"
                            headers: [{ name: ":path", string_match: { safe_regex: { regex: '([^%?]|%[2-6][0-9A-Fa-f]|%7[0-9A-Ea-e]|%[Cc][2-9A-Fa-f]%[89AaBb][0-9A-Fa-f]|%[Dd][0-9A-Fa-f]%[89AaBb][0-9A-Fa-f]|%[Ee]0%[AaBb][0-9A-Fa-f]%[89AaBb][0-9A-Fa-f]|%[Ee][1-9A-Ca-cEeFf](%[89AaBb][0-9A-Fa-f]){2}|%[Ee][Dd]%[89][0-9A-Fa-f]%[89AaBb][0-9A-Fa-f]|%[Ff]0%[9AaBb][0-9A-Fa-f](%[89AaBb][0-9A-Fa-f]){2}|%[Ff][1-3](%[89AaBb][0-9A-Fa-f]){3}|%[Ff]4%8[0-9A-Fa-f](%[89AaBb][0-9A-Fa-f]){2})*([?].*)?' } }, invert_match: true }]
                          direct_response: { status: 400, body: { inline_string: '{"error":"path_invalid","error_description":"the request path is not acceptable"}' } }
                          response_headers_to_add: [{ header: { key: content-type, value: application/json }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        # - a Host that is not host[:port] (reg-name with at most one trailing dot, or [IPv6]): no '@',
                        #   ',', two ports, empty labels, escapes. A missing one counts as empty, hence invalid.
                        - name: host_invalid
                          match:
                            prefix: "/"
                            headers: [{ name: ":authority", string_match: { safe_regex: { regex: '^(([A-Za-z0-9_-]+)(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(:(0{0,4}[1-9]|0{0,3}[1-9][0-9]|0{0,2}[1-9][0-9]{2}|0?[1-9][0-9]{3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$' } }, invert_match: true, treat_missing_header_as_empty: true }]
                          direct_response: { status: 400, body: { inline_string: '{"error":"host_invalid","error_description":"the request''s host is not acceptable"}' } }
                          response_headers_to_add: [{ header: { key: content-type, value: application/json }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        # The public keys and discovery document of Portcullis's signed identity assertion
                        # (identity.assertion): public, for upstreams that verify it; exact paths only.
                        - name: jwks
                          match: { path: "/.well-known/jwks.json" }
                          route: { cluster: portcullis_auth, timeout: 10s }
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        - name: openid_configuration
                          match: { path: "/.well-known/openid-configuration" }
                          route: { cluster: portcullis_auth, timeout: 10s }
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        # SECURITY: only Portcullis's own /oauth2/ endpoints skip ext_authz.
                        - name: oauth2
                          match: { prefix: "/oauth2/" }
                          route: { cluster: portcullis_auth, timeout: 10s }
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        - name: upstream
                          match: { prefix: "/" }
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
                      {{- if include "portcullis.readsSni" . }}
                      # sni conditions: the TLS server name the client asked for (attributes.tls_session.sni).
                      include_tls_session: true
                      {{- end }}
                      grpc_service:
                        # No x-envoy-internal or x-forwarded-for on the Check call: Portcullis reads neither, and each
                        # header costs both sides per check.
                        envoy_grpc: { cluster_name: portcullis_ext_authz, skip_envoy_headers: true }
                        timeout: {{ $e.extAuthzTimeout }}
                      # Only the request headers Portcullis reads, from the chart's `config` as
                      # `portcullis check-config --envoy` computes them (portcullis.envoyAllowedHeaders
                      # below); Envoy sends ext_authz no other. Identity headers are not among them:
                      # Portcullis removes or overwrites every one on every allowed request, sent or not.
                      allowed_headers:
                        patterns:
                          {{- include "portcullis.envoyAllowedHeaders" . | nindent 26 }}
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
                # The same request hygiene as the main listener, so no listener of this Envoy is laxer.
                normalize_path: true
                merge_slashes: true
                path_with_escaped_slashes_action: REJECT_REQUEST
                use_remote_address: true
                xff_num_trusted_hops: 0
                common_http_protocol_options:
                  headers_with_underscores_action: REJECT_REQUEST
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
            {{- if eq (include "portcullis.workers" .) "1" }}
            http2_protocol_options: {}
            {{- else }}
            http2_protocol_options:
              # Portcullis runs several workers sharing the port (values workers); the kernel spreads
              # connections, not streams, and Envoy multiplexes every check on one connection, so
              # without a cap one worker answers them all (0 / 15,245 measured; 6,325 / 9,812 with 4).
              # With 4 Envoy opens another connection per 4 checks in flight (docs/operations.md, "Workers").
              max_concurrent_streams: 4
            {{- end }}
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

{{/*
The ext_authz allowed_headers of the chart's Portcullis `config`: the same list as
src/app/envoyAllowedHeaders.ts (test/e2e/deployHelmAllowedHeaders.test.ts holds the two equal):
authorization and x-request-id always; with browser login (a provider with clientId and
redirectUri, and session.keys) the Cookie header and the headers that tell a page navigation from
an API call; policy.removeRequestHeaders (default list unless set); x-forwarded-client-cert where a
route reads client certificates (app/clientCertificateUse.ts); with a provider's dpop.enabled the
DPoP proof header; with tracing.enabled the W3C and B3 trace context; with
log.traceRequests.enabled its header (default x-portcullis-trace); the header of every request
condition (match.headers, require.request.headers, deny rules' when.request.headers, the defaults'),
and x-forwarded-for with policy.trustedForwardedHops above 0 and a sourceAddresses condition.
*/}}
{{- define "portcullis.envoyAllowedHeaders" -}}
{{- $c := .Values.config | default dict -}}
{{- $names := list "authorization" "x-request-id" -}}
{{- $login := false -}}
{{- range $name, $p := ($c.providers | default dict) -}}
{{- if and (kindIs "map" $p) $p.clientId $p.redirectUri -}}{{- $login = true -}}{{- end -}}
{{- end -}}
{{- if and $login (($c.session | default dict).keys) -}}
{{- $names = concat $names (list "cookie" "accept" "content-type" "sec-fetch-mode" "x-requested-with") -}}
{{- end -}}
{{- $policy := $c.policy | default dict -}}
{{- $removed := list "x-forwarded-host" "x-forwarded-prefix" "forwarded" "x-original-url" "x-rewrite-url" "x-http-method-override" "x-method-override" "x-http-method" -}}
{{- if hasKey $policy "removeRequestHeaders" -}}{{- $removed = $policy.removeRequestHeaders | default list -}}{{- end -}}
{{- $names = concat $names $removed -}}
{{- $demands := list "mtls" "any" -}}
{{- $providersDemand := false -}}
{{- range $name, $p := ($c.providers | default dict) -}}
{{- if and (kindIs "map" $p) (has ($p.boundTokens | default "none") $demands) -}}{{- $providersDemand = true -}}{{- end -}}
{{- end -}}
{{- $certificates := false -}}
{{- range $r := ($c.routes | default list) -}}
{{- if kindIs "map" $r -}}
{{- $m := $r.mtls | default dict -}}
{{- $own := ($r.require | default dict).boundTokens | default "" -}}
{{- $routeDemands := ternary $providersDemand (has $own $demands) (eq $own "") -}}
{{- if or $m.trustForwardedClientCert $routeDemands (gt (len ($m.clients | default list)) 0) -}}{{- $certificates = true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- if $certificates -}}{{- $names = append $names "x-forwarded-client-cert" -}}{{- end -}}
{{- range $name, $p := ($c.providers | default dict) -}}
{{- if and (kindIs "map" $p) (kindIs "map" $p.dpop) $p.dpop.enabled -}}{{- $names = append $names "dpop" -}}{{- end -}}
{{- end -}}
{{- if ($c.tracing | default dict).enabled -}}
{{- $names = concat $names (list "traceparent" "tracestate" "b3" "x-b3-traceid" "x-b3-spanid" "x-b3-sampled" "x-b3-flags") -}}
{{- end -}}
{{- $traceRequests := (($c.log | default dict).traceRequests | default dict) -}}
{{- if $traceRequests.enabled -}}
{{- $names = append $names ($traceRequests.header | default "x-portcullis-trace") -}}
{{- end -}}
{{- $sources := false -}}
{{- range $set := (include "portcullis.requestConditionSets" . | fromJsonArray) -}}
{{- range $h := ($set.headers | default list) -}}
{{- if kindIs "map" $h -}}{{- $names = append $names (lower $h.name) -}}{{- end -}}
{{- end -}}
{{- if gt (len ($set.sourceAddresses | default list)) 0 -}}{{- $sources = true -}}{{- end -}}
{{- end -}}
{{- if and $sources (gt (int ($policy.trustedForwardedHops | default 0)) 0) -}}
{{- $names = append $names "x-forwarded-for" -}}
{{- end -}}
{{- $patterns := list -}}
{{- range $n := $names | uniq -}}{{- $patterns = append $patterns (dict "exact" $n) -}}{{- end -}}
{{- toYaml $patterns -}}
{{- end -}}

{{/*
Every place the chart's Portcullis `config` writes request conditions, as a JSON list (as
src/app/envoyAllowedHeaders.ts's requestConditionSets reads them): policy.defaults.require.request,
each route's match and require.request, and its deny rules' when.request.
*/}}
{{- define "portcullis.requestConditionSets" -}}
{{- $c := .Values.config | default dict -}}
{{- $sets := list -}}
{{- $defaults := ((($c.policy | default dict).defaults | default dict).require | default dict).request -}}
{{- if kindIs "map" $defaults -}}{{- $sets = append $sets $defaults -}}{{- end -}}
{{- range $r := ($c.routes | default list) -}}
{{- if kindIs "map" $r -}}
{{- if kindIs "map" $r.match -}}{{- $sets = append $sets $r.match -}}{{- end -}}
{{- $own := ($r.require | default dict).request -}}
{{- if kindIs "map" $own -}}{{- $sets = append $sets $own -}}{{- end -}}
{{- range $d := ($r.deny | default list) -}}
{{- $when := (ternary $d dict (kindIs "map" $d)).when | default dict -}}
{{- if kindIs "map" $when.request -}}{{- $sets = append $sets $when.request -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $sets -}}
{{- end -}}

{{/* "true" when some request condition of the chart's `config` tests the TLS server name (sni). */}}
{{- define "portcullis.readsSni" -}}
{{- range $set := (include "portcullis.requestConditionSets" . | fromJsonArray) -}}
{{- if gt (len ($set.sni | default list)) 0 -}}true{{- end -}}
{{- end -}}
{{- end -}}
