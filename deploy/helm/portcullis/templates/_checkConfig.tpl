{{/*
The check-config init container: the Portcullis image runs `portcullis check-config` on the mounted
config with the Portcullis container's environment (the Secret's variables resolved) and mounts, so
a config that Portcullis would refuse stops the new pod here, with every problem and its key path in
this container's log, and the rollout waits (maxUnavailable 0) while the old pods keep serving.
*/}}
{{- define "portcullis.checkConfigContainer" -}}
- name: check-config
  image: {{ include "portcullis.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - check-config
    - --config
    - {{ include "portcullis.configPath" . }}
  {{- $env := include "portcullis.env" . }}
  {{- if trim $env }}
  env:
    {{- trim $env | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    {{- include "portcullis.volumeMounts" . | nindent 4 }}
{{- end }}

{{/* Labels of the check-config hook's objects: the release's, without the selector's name label. */}}
{{- define "portcullis.checkConfigLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: check-config
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
