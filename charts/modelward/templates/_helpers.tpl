{{/* Names, labels and the values-derived settings shared by the templates. */}}

{{- define "modelward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "modelward.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A resource name "<fullname>-<suffix>", kept within 63 characters. */}}
{{- define "modelward.suffixed" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" (include "modelward.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix -}}
{{- end -}}

{{/* Labels of every resource except the component. */}}
{{- define "modelward.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "modelward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: modelward
{{- end -}}

{{- define "modelward.labels" -}}
{{ include "modelward.commonLabels" . }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "modelward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{/* repository@digest when a digest is set, else repository:tag. Argument: (list image default-tag). */}}
{{- define "modelward.imageRef" -}}
{{- $image := index . 0 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default (index . 1) $image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "modelward.controllerLabels" -}}
{{ include "modelward.commonLabels" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "modelward.controllerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "modelward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* Labels of the vetting Job pods (the controller sets them; the NetworkPolicy selects them). */}}
{{- define "modelward.vettingJobLabels" -}}
app.kubernetes.io/name: {{ include "modelward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: vetting-job
{{- end -}}

{{/* The controller's ServiceAccount, ConfigMap and Lease share this name. */}}
{{- define "modelward.controllerName" -}}
{{- include "modelward.suffixed" (list . "controller") -}}
{{- end -}}

{{- define "modelward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "modelward.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "modelward.vettingServiceAccountName" -}}
{{- default (include "modelward.suffixed" (list . "vetting")) .Values.vetting.serviceAccount.name -}}
{{- end -}}

{{- define "modelward.verdictNamespace" -}}
{{- default .Release.Namespace .Values.verdicts.namespace -}}
{{- end -}}

{{- define "modelward.tlsSecretName" -}}
{{- if eq .Values.tls.source "secret" -}}
{{- .Values.tls.existingSecret.name -}}
{{- else -}}
{{- include "modelward.suffixed" (list . "tls") -}}
{{- end -}}
{{- end -}}

{{- define "modelward.keysSecretName" -}}
{{- default (include "modelward.suffixed" (list . "keys")) .Values.verdicts.existingSecret -}}
{{- end -}}

{{/* The public key file names the webhook trusts, one per line. */}}
{{- define "modelward.keyFiles" -}}
{{- if .Values.verdicts.existingSecret -}}
{{- range .Values.verdicts.existingSecretKeys }}
{{ . }}
{{- end -}}
{{- else -}}
{{- range $name, $_ := .Values.verdicts.publicKeys }}
{{ $name }}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "modelward.hasKeys" -}}
{{- if or .Values.verdicts.existingSecret .Values.verdicts.publicKeys -}}true{{- end -}}
{{- end -}}

{{/* "files", "configMap", "claim" or "" (the built-in library). */}}
{{- define "modelward.policySource" -}}
{{- if .Values.policies.files -}}files
{{- else if .Values.policies.existingConfigMap -}}configMap
{{- else if .Values.policies.existingClaim -}}claim
{{- end -}}
{{- end -}}

{{/* Container security settings shared by the webhook and OPA containers. */}}
{{- define "modelward.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Combinations the schema cannot express; fails the render with the reason. */}}
{{- define "modelward.validate" -}}
{{- $v := .Values -}}
{{- if ge (float64 $v.admission.deadlineSeconds) (float64 $v.webhook.timeoutSeconds) -}}
{{- fail (printf "admission.deadlineSeconds (%v) must be lower than webhook.timeoutSeconds (%v), so the webhook answers before the API server gives up" $v.admission.deadlineSeconds $v.webhook.timeoutSeconds) -}}
{{- end -}}
{{- if eq (int $v.metrics.port) (int $v.webhook.port) -}}
{{- fail (printf "metrics.port (%v) must differ from webhook.port: the NetworkPolicy opens them to different sources" $v.metrics.port) -}}
{{- end -}}
{{- if eq $v.tls.source "secret" -}}
{{- if not $v.tls.existingSecret.name -}}
{{- fail "tls.source is secret: set tls.existingSecret.name to a kubernetes.io/tls Secret" -}}
{{- end -}}
{{- if not $v.tls.existingSecret.caBundle -}}
{{- fail "tls.source is secret: set tls.existingSecret.caBundle to the CA that signed the certificate" -}}
{{- end -}}
{{- end -}}
{{- $sources := 0 -}}
{{- if $v.policies.files }}{{ $sources = add1 $sources }}{{ end -}}
{{- if $v.policies.existingConfigMap }}{{ $sources = add1 $sources }}{{ end -}}
{{- if $v.policies.existingClaim }}{{ $sources = add1 $sources }}{{ end -}}
{{- if gt $sources 1 -}}
{{- fail "set at most one of policies.files, policies.existingConfigMap and policies.existingClaim" -}}
{{- end -}}
{{- if and $v.podDisruptionBudget.enabled (ge (int $v.replicaCount) 2) (ge (int $v.podDisruptionBudget.minAvailable) (int $v.replicaCount)) -}}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be lower than replicaCount (%v), or no node could ever be drained" $v.podDisruptionBudget.minAvailable $v.replicaCount) -}}
{{- end -}}
{{- if and $v.verdicts.existingSecret $v.verdicts.publicKeys -}}
{{- fail "set verdicts.publicKeys or verdicts.existingSecret, not both" -}}
{{- end -}}
{{- if and $v.verdicts.existingSecret (not $v.verdicts.existingSecretKeys) -}}
{{- fail "verdicts.existingSecret is set: list the keys to trust in verdicts.existingSecretKeys" -}}
{{- end -}}
{{- if and $v.admission.autoVetting.enabled (not $v.controller.enabled) -}}
{{- fail "admission.autoVetting.enabled needs controller.enabled: nothing would run the ModelVettings the webhook creates" -}}
{{- end -}}
{{- if $v.controller.enabled -}}
{{- $c := $v.controller -}}
{{- if not $c.signingKey.existingSecret -}}
{{- fail "controller.enabled: set controller.signingKey.existingSecret to the Secret holding the verdict signing key (PEM under controller.signingKey.key)" -}}
{{- end -}}
{{- if ge (int $c.leaderElection.renewSeconds) (int $c.leaderElection.leaseSeconds) -}}
{{- fail (printf "controller.leaderElection.renewSeconds (%v) must be lower than leaseSeconds (%v), or the leader loses its lease between renewals" $c.leaderElection.renewSeconds $c.leaderElection.leaseSeconds) -}}
{{- end -}}
{{- if gt (float64 $c.queue.retryBaseSeconds) (float64 $c.queue.retryMaxSeconds) -}}
{{- fail (printf "controller.queue.retryBaseSeconds (%v) must not exceed retryMaxSeconds (%v)" $c.queue.retryBaseSeconds $c.queue.retryMaxSeconds) -}}
{{- end -}}
{{- end -}}
{{- end -}}
