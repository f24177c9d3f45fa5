{{- define "forgebridge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "forgebridge.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "forgebridge.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Secret that holds the DSN and the keyset: the user's or the chart's. */}}
{{- define "forgebridge.databaseSecret" -}}
{{- .Values.database.existingSecret | default (printf "%s-database" (include "forgebridge.fullname" .)) -}}
{{- end -}}
{{- define "forgebridge.keysetSecret" -}}
{{- .Values.keyset.existingSecret | default (printf "%s-keyset" (include "forgebridge.fullname" .)) -}}
{{- end -}}

{{/* Refuse settings that cannot work rather than render a broken release. */}}
{{- define "forgebridge.validate" -}}
{{- if not .Values.publicUrl -}}
{{- fail "publicUrl is required: the address hosts and browsers reach forgebridge at" -}}
{{- end -}}
{{- if and (not .Values.database.existingSecret) (not .Values.database.dsn) -}}
{{- fail "database.dsn or database.existingSecret is required: replicas share one PostgreSQL database" -}}
{{- end -}}
{{- if and .Values.database.dsn (not (hasPrefix "postgres" .Values.database.dsn)) -}}
{{- fail "database.dsn must be a postgres:// DSN: SQLite cannot be shared by replicas" -}}
{{- end -}}
{{- if and (not .Values.keyset.existingSecret) (not .Values.keyset.json) -}}
{{- fail "keyset.json or keyset.existingSecret is required: every replica must use the same keyset" -}}
{{- end -}}
{{- if and (eq .Values.tracker.kind "jira") (or (not .Values.tracker.jiraUrl) (not .Values.tracker.jiraTokenSecret)) -}}
{{- fail "tracker.kind jira needs tracker.jiraUrl and tracker.jiraTokenSecret" -}}
{{- end -}}
{{- end -}}
