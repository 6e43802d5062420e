{{/* Names, labels and the pieces both modes share. */}}

{{- define "portcullis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "portcullis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "portcullis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portcullis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "portcullis.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "portcullis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .Values.mode }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "portcullis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "portcullis.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where the Portcullis container and its check-config init container read the config. */}}
{{- define "portcullis.configPath" -}}
/etc/portcullis/config.yaml
{{- end }}

{{- define "portcullis.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The Portcullis config file: the user's `config` with `listen` set by the chart. In sidecar mode the
grpc and auth listeners stay on loopback (only the pod's Envoy calls them); the admin listener binds
0.0.0.0 in both modes because the kubelet probes the pod IP.
*/}}
{{- define "portcullis.configYaml" -}}
{{- include "portcullis.requireConfig" . }}
{{- if hasKey .Values.config "listen" }}
{{- fail "config.listen is set by the chart: use ports.grpc, ports.auth and ports.admin" }}
{{- end }}
{{- $bind := ternary "127.0.0.1" "0.0.0.0" (eq .Values.mode "sidecar") }}
{{- $listen := dict "grpc" (printf "%s:%d" $bind (int .Values.ports.grpc)) "auth" (printf "%s:%d" $bind (int .Values.ports.auth)) "admin" (printf "0.0.0.0:%d" (int .Values.ports.admin)) }}
{{- if include "portcullis.tlsEnabled" . }}
{{- $tls := dict "certFile" "/etc/portcullis-tls/tls.crt" "keyFile" "/etc/portcullis-tls/tls.key" "minVersion" .Values.tls.minVersion }}
{{- if .Values.tls.verifyClientCertificates }}
{{- $_ := set $tls "clientCaFile" "/etc/portcullis-tls/ca.crt" }}
{{- end }}
{{- $_ := set $listen "tls" $tls }}
{{- end }}
{{- $config := merge (dict "listen" $listen) (deepCopy .Values.config) }}
{{- toYaml $config }}
{{- end }}

{{/*
The chart ships no config: a default `config` would be deep-merged into the user's, adding its
provider beside theirs. So an empty config (or one without `routes`, which Portcullis requires)
stops the render with what to set, and so does a `${VAR}` that no env entry of the container sets,
which would otherwise only show up as pods that exit at start.
*/}}
{{- define "portcullis.requireConfig" -}}
{{- $examples := "deploy/helm/portcullis/examples/ has complete values files (values-keycloak.yaml, values-auth0.yaml, values-two-tenants.yaml)" }}
{{- if not .Values.config }}
{{- fail (printf "config is required: set it to your Portcullis config (providers, session, routes; docs/configuration.md, without listen) in a values file passed with -f; %s" $examples) }}
{{- end }}
{{- if not (kindIs "map" .Values.config) }}
{{- fail "config must be a mapping: your Portcullis config (providers, session, routes)" }}
{{- end }}
{{- if not (hasKey .Values.config "routes") }}
{{- fail (printf "config.routes is required: Portcullis needs at least one route (match -> auth), e.g. routes: [{name: default, match: {path: /}, auth: required}]; %s" $examples) }}
{{- end }}
{{- $set := keys .Values.secretEnv }}
{{- range .Values.extraEnv }}
{{- $set = append $set (toString .name) }}
{{- end }}
{{- /* `$${` is Portcullis's escape for a literal `${`: drop it before looking for references. */}}
{{- $text := regexReplaceAll "\\$\\$\\{" (toYaml .Values.config) "" }}
{{- $missing := list }}
{{- range regexFindAll "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" $text -1 | uniq }}
{{- $name := trimSuffix "}" (trimPrefix "${" .) }}
{{- if not (has $name $set) }}
{{- $missing = append $missing $name }}
{{- end }}
{{- end }}
{{- if $missing }}
{{- $first := first $missing }}
{{- fail (printf "config names ${%s} but the Portcullis container would have no such environment variable (%s): map each to a key of existingSecret under secretEnv (e.g. secretEnv.%s: <key in %s>) or set it in extraEnv" $first (join ", " $missing) $first (default "existingSecret" .Values.existingSecret)) }}
{{- end }}
{{- end }}

{{/* The `env` of the Portcullis container: secretEnv from existingSecret, then extraEnv. */}}
{{- define "portcullis.env" -}}
{{- /* The heap flags (values nodeOptions), unless extraEnv sets NODE_OPTIONS itself: one variable, no duplicate. */}}
{{- $ownNodeOptions := false }}
{{- range .Values.extraEnv }}{{ if eq .name "NODE_OPTIONS" }}{{ $ownNodeOptions = true }}{{ end }}{{ end }}
{{- if and .Values.nodeOptions (not $ownNodeOptions) }}
- name: NODE_OPTIONS
  value: {{ .Values.nodeOptions | quote }}
{{- end }}
{{- if and .Values.secretEnv (not .Values.existingSecret) }}
{{- fail "secretEnv maps variables to keys of existingSecret: set existingSecret to the Secret's name" }}
{{- end }}
{{- range $name, $key := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* values workers as text: "1" (one process, no flag), "2"…"256" or "auto". Values files give
numbers as floats, --set as integers: both print as digits. */}}
{{- define "portcullis.workers" -}}
{{- if kindIs "string" .Values.workers }}{{ .Values.workers }}{{ else }}{{ int64 .Values.workers }}{{ end }}
{{- end }}

{{/* The Portcullis container, the same in both modes. */}}
{{- define "portcullis.container" -}}
- name: portcullis
  image: {{ include "portcullis.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - serve
    - --config
    - {{ include "portcullis.configPath" . }}
    {{- if eq .Values.configReload "watch" }}
    - --watch
    {{- end }}
    {{- if ne (include "portcullis.workers" .) "1" }}
    - --workers
    - {{ include "portcullis.workers" . | quote }}
    {{- end }}
  {{- $env := include "portcullis.env" . }}
  {{- if trim $env }}
  env:
    {{- trim $env | nindent 4 }}
  {{- end }}
  ports:
    {{- if eq .Values.mode "central" }}
    - name: grpc
      containerPort: {{ .Values.ports.grpc }}
    - name: auth
      containerPort: {{ .Values.ports.auth }}
    {{- end }}
    - name: admin
      containerPort: {{ .Values.ports.admin }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: admin
    {{- toYaml .Values.probes.liveness | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: admin
    {{- toYaml .Values.probes.readiness | nindent 4 }}
  {{- with .Values.probes.startup }}
  # Until /healthz first answers, the liveness probe waits: a slow start (several workers, a busy
  # node) is not killed as a hang.
  startupProbe:
    httpGet:
      path: /healthz
      port: admin
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if eq .Values.mode "sidecar" }}
  # Sidecar mode: SIGTERM only once the pod's Envoy (same preStop pause) stops taking requests, so
  # Portcullis's own drain outlasts it. In central mode SIGTERM comes at once: Portcullis drains by
  # itself (config.shutdown.drainSeconds), answering checks while reporting NOT_SERVING.
  lifecycle:
    preStop:
      exec:
        # The image has node, not necessarily sleep.
        command: ["node", "-e", "setTimeout(() => {}, {{ mul .Values.preStopSleepSeconds 1000 }})"]
  {{- end }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    {{- include "portcullis.volumeMounts" . | nindent 4 }}
{{- end }}

{{/*
"true" when the grpc and auth listeners serve TLS from `tls.secretName` (central mode only: in
sidecar mode they are on loopback, and a Secret there is refused rather than silently unused).
*/}}
{{- define "portcullis.tlsEnabled" -}}
{{- if (.Values.tls).secretName }}
{{- if eq .Values.mode "sidecar" }}
{{- fail "tls.secretName is for central mode: in sidecar mode Envoy reaches Portcullis over the pod's loopback" }}
{{- end }}
{{- "true" }}
{{- end }}
{{- end }}

{{/* The listener TLS Secret's volume (listen.tls), for the pod and the check-config hook Job. */}}
{{- define "portcullis.tlsVolume" -}}
{{- if include "portcullis.tlsEnabled" . }}
- name: listener-tls
  secret:
    secretName: {{ .Values.tls.secretName }}
{{- end }}
{{- end }}

{{/* The mounts of the Portcullis container, which its check-config init container shares. */}}
{{- define "portcullis.volumeMounts" -}}
# The whole directory, not a subPath: the kubelet updates it in place, which `--watch` sees.
- name: config
  mountPath: /etc/portcullis
  readOnly: true
# HOME is /tmp in the image: the only writable place on a read-only root filesystem.
- name: tmp
  mountPath: /tmp
{{- if .Values.apiKeysSecret }}
# API keys (config.apiKeys.file): the whole Secret, which the kubelet updates in place for `--watch`.
- name: api-keys
  mountPath: /etc/portcullis-api-keys
  readOnly: true
{{- end }}
{{- if include "portcullis.tlsEnabled" . }}
# listen.tls: a directory too, so a renewed certificate reaches the watched files.
- name: listener-tls
  mountPath: /etc/portcullis-tls
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings both modes share. */}}
{{- define "portcullis.podSpecCommon" -}}
serviceAccountName: {{ include "portcullis.serviceAccountName" . }}
# Portcullis never calls the Kubernetes API.
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.topologySpreadConstraints }}
{{- $constraints := list }}
{{- range . }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (include "portcullis.selectorLabels" $ | fromYaml)) }}
{{- end }}
{{- $constraints = append $constraints $c }}
{{- end }}
topologySpreadConstraints:
  {{- toYaml $constraints | nindent 2 }}
{{- end }}
{{- end }}
