{{/*
Chart name, truncated to fit Kubernetes name limits.
*/}}
{{- define "lockstep.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects. Kept to 52 characters, so that pod names (<fullname>-N) and
the StatefulSet's controller-revision-hash label value stay within 63.
*/}}
{{- define "lockstep.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "lockstep.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "lockstep.labels" -}}
helm.sh/chart: {{ include "lockstep.chart" . }}
{{ include "lockstep.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lockstep
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the pods.
*/}}
{{- define "lockstep.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lockstep.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the headless Service that gives each pod a stable DNS name.
*/}}
{{- define "lockstep.headlessServiceName" -}}
{{- printf "%s-headless" (include "lockstep.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name of pod N: (dict "root" $ "index" N).
*/}}
{{- define "lockstep.podName" -}}
{{- printf "%s-%d" (include "lockstep.fullname" .root) (int .index) }}
{{- end }}

{{/*
Stable DNS name of pod N through the headless Service: (dict "root" $ "index" N).
*/}}
{{- define "lockstep.podHost" -}}
{{- $root := .root }}
{{- printf "%s.%s.%s.svc.%s" (include "lockstep.podName" .) (include "lockstep.headlessServiceName" $root) $root.Release.Namespace $root.Values.clusterDomain }}
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "lockstep.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lockstep.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Secret holding the API token, and its key.
*/}}
{{- define "lockstep.secretName" -}}
{{- default (printf "%s-auth" (include "lockstep.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "lockstep.secretKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecretKey }}
{{- else -}}
api-token
{{- end }}
{{- end }}

{{/*
Container image: repository@digest, or repository:tag with the appVersion as default tag.
*/}}
{{- define "lockstep.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Grace period, checked against the time a stopping pod needs: the preStop sleep plus Spring's
graceful shutdown phase. A shorter grace period would SIGKILL Lockstep mid-shutdown.
*/}}
{{- define "lockstep.terminationGracePeriodSeconds" -}}
{{- $needed := add .Values.lifecycle.preStopSleepSeconds .Values.lifecycle.shutdownTimeoutSeconds }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than lifecycle.preStopSleepSeconds + lifecycle.shutdownTimeoutSeconds (%d)" (int .Values.terminationGracePeriodSeconds) (int $needed)) }}
{{- end }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}

{{/*
Secret with the pods' certificate (tls.crt, tls.key, ca.crt): tls.existingSecret, else the one
cert-manager writes for the chart's Certificate.
*/}}
{{- define "lockstep.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "lockstep.fullname" .)) .Values.tls.existingSecret }}
{{- end }}

{{/*
HTTP scheme of the API: https with tls.enabled.
*/}}
{{- define "lockstep.apiScheme" -}}
{{- ternary "https" "http" (and .Values.tls.enabled true) }}
{{- end }}
