{{- define "sockscope.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sockscope.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sockscope.labels" -}}
{{ include "sockscope.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "sockscope.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- /* Each OTLP Secret file: "true" when mode otlp reads it (values.yaml, otlp.secret). */ -}}
{{- define "sockscope.otlpHeaders" -}}
{{- if and (eq .Values.mode "otlp") (or .Values.otlp.secret.headers (and .Values.otlp.secret.existingName .Values.otlp.secret.keys.headers)) }}true{{ end -}}
{{- end -}}
{{- define "sockscope.otlpCaCert" -}}
{{- if and (eq .Values.mode "otlp") (or .Values.otlp.secret.caCert (and .Values.otlp.secret.existingName .Values.otlp.secret.keys.caCert)) }}true{{ end -}}
{{- end -}}
{{- define "sockscope.otlpClientCert" -}}
{{- if and (eq .Values.mode "otlp") (or .Values.otlp.secret.clientCert (and .Values.otlp.secret.existingName .Values.otlp.secret.keys.clientCert)) }}true{{ end -}}
{{- end -}}
{{- define "sockscope.otlpClientKey" -}}
{{- if and (eq .Values.mode "otlp") (or .Values.otlp.secret.clientKey (and .Values.otlp.secret.existingName .Values.otlp.secret.keys.clientKey)) }}true{{ end -}}
{{- end -}}
{{- define "sockscope.otlpSecretUsed" -}}
{{- if or (include "sockscope.otlpHeaders" .) (include "sockscope.otlpCaCert" .) (include "sockscope.otlpClientCert" .) (include "sockscope.otlpClientKey" .) }}true{{ end -}}
{{- end -}}
