{{/* Name of the chart, or nameOverride. */}}
{{- define "secret-relay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name when it already contains the chart name, else <release>-<chart>. */}}
{{- define "secret-relay.fullname" -}}
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

{{- define "secret-relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "secret-relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "secret-relay.labels" -}}
{{ include "secret-relay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Values.managedBy | default .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "secret-relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "secret-relay.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "secret-relay.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The permissions the operator needs in each namespace it watches: read its ExternalSecrets and SecretStores,
report on them, write and read their target Secrets and store credentials, record Events, and mint
ServiceAccount tokens for workload identity (unless rbac.tokenRequest.mode restricts that).
Used by the ClusterRole (all namespaces) or by one Role per watched namespace.
*/}}
{{- define "secret-relay.namespacedRules" -}}
# ExternalSecrets and SecretStores: the informers list and watch them.
- apiGroups: ["secret-relay.dev"]
  resources: ["externalsecrets", "secretstores"]
  verbs: ["list", "watch"]
# One status merge-patch per reconcile.
- apiGroups: ["secret-relay.dev"]
  resources: ["externalsecrets/status", "secretstores/status"]
  verbs: ["patch"]
# Owner Secrets carry an ownerReference with blockOwnerDeletion, which needs update on the owner's
# finalizers where the OwnerReferencesPermissionEnforcement admission plugin is on.
- apiGroups: ["secret-relay.dev"]
  resources: ["externalsecrets/finalizers"]
  verbs: ["update"]
# Generated credentials (dataFrom[].sourceRef.generatorRef): the VaultDynamicSecret is read when values are
# generated, renewed or revoked; ExternalSecrets that hold leases get (get + patch) a finalizer, so that
# their leases are revoked before they go.
- apiGroups: ["secret-relay.dev"]
  resources: ["externalsecrets"]
  verbs: ["get", "patch"]
- apiGroups: ["secret-relay.dev"]
  resources: ["vaultdynamicsecrets"]
  verbs: ["get"]
# ClusterExternalSecrets write their ExternalSecrets by server-side apply (patch, above; create when new) and
# delete them from namespaces that stop matching.
- apiGroups: ["secret-relay.dev"]
  resources: ["externalsecrets"]
  verbs: ["create", "delete"]
# PushSecrets (docs/push-secret.md): the informer lists and watches them, one status merge-patch per reconcile,
# and those with deletionPolicy Delete get (get + patch) a finalizer so that what they created remotely is
# deleted before they go. Their source Secret is read with get (below).
- apiGroups: ["secret-relay.dev"]
  resources: ["pushsecrets"]
  verbs: ["list", "watch", "get", "patch"]
# ClusterPushSecrets write their PushSecrets by server-side apply (patch, above; create when new) and delete them
# from namespaces that stop matching.
- apiGroups: ["secret-relay.dev"]
  resources: ["pushsecrets"]
  verbs: ["create", "delete"]
- apiGroups: ["secret-relay.dev"]
  resources: ["pushsecrets/status"]
  verbs: ["patch"]
# A PushSecret's <name>-generated Secret (selector.generatorRef) is owned by it with blockOwnerDeletion.
- apiGroups: ["secret-relay.dev"]
  resources: ["pushsecrets/finalizers"]
  verbs: ["update"]
# The local generators (Password, SSHKey, UUID) are read when a value is generated.
- apiGroups: ["secret-relay.dev"]
  resources: ["passwords", "sshkeys", "uuids"]
  verbs: ["get"]
# Target Secrets. list/watch: the informer (it selects secret-relay.dev/managed=true, but RBAC cannot
# restrict by label). patch + create: server-side apply (create when the Secret is new). get: Merge
# targets before their first sync and store credentials. delete: deletionPolicy Delete and target renames.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# target.templateFrom reads ConfigMaps of the ExternalSecret's namespace.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get"]
# Events about ExternalSecrets and SecretStores; identical ones are folded into a series (patch).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.rbac.rollouts }}
# Rollouts (docs/rollouts.md): when a managed Secret's data changes, the workloads of its namespace are listed
# (to find those that read it or ask by annotation) and those to roll get a pod-template annotation (patch).
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["list", "patch"]
# Argo Rollouts named in rolloutRestartTargets (kind argo.Rollout): read, then patched the same way.
- apiGroups: ["argoproj.io"]
  resources: ["rollouts"]
  verbs: ["get", "patch"]
{{- end }}
{{- if eq .Values.rbac.tokenRequest.mode "all" }}
# Workload identity: short-lived tokens (TokenRequest) for the ServiceAccounts that stores name, and their
# annotations (e.g. the IAM role of AWS IRSA).
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get"]
{{- end }}
{{- end -}}

{{/* Fails rendering on values that cannot work, with a message saying what to change. */}}
{{- define "secret-relay.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.leaderElection.enabled) -}}
{{- fail "replicas > 1 needs leaderElection.enabled=true: without it every replica reconciles and they fight over the same Secrets" -}}
{{- end -}}
{{- if not (has .Values.rbac.tokenRequest.mode (list "all" "named" "none")) -}}
{{- fail (printf "rbac.tokenRequest.mode must be all, named or none, got %q" .Values.rbac.tokenRequest.mode) -}}
{{- end -}}
{{- if and (eq .Values.rbac.tokenRequest.mode "named") (empty .Values.rbac.tokenRequest.serviceAccounts) -}}
{{- fail "rbac.tokenRequest.mode=named needs rbac.tokenRequest.serviceAccounts: [{namespace, name}, …]" -}}
{{- end -}}
{{- range .Values.rbac.tokenRequest.serviceAccounts -}}
{{- if or (not .namespace) (not .name) -}}
{{- fail "each entry of rbac.tokenRequest.serviceAccounts needs a namespace and a name" -}}
{{- end -}}
{{- end -}}
{{- if not (has .Values.audit.sink (list "stdout" "file")) -}}
{{- fail (printf "audit.sink must be stdout or file, got %q" .Values.audit.sink) -}}
{{- end -}}
{{- if and .Values.admissionPolicies.enabled (semverCompare "<1.30.0-0" .Capabilities.KubeVersion.Version) -}}
{{- fail (printf "admissionPolicies need Kubernetes 1.30 or later (ValidatingAdmissionPolicy v1), this cluster is %s: upgrade it, or set admissionPolicies.enabled=false" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- if and .Values.admissionPolicies.enabled (lt (int .Values.admissionPolicies.tokenRequest.maxExpirationSeconds) 600) -}}
{{- fail (printf "admissionPolicies.tokenRequest.maxExpirationSeconds must be at least 600 (the TokenRequest minimum), got %v" .Values.admissionPolicies.tokenRequest.maxExpirationSeconds) -}}
{{- end -}}
{{- if and .Values.admissionPolicies.enabled (empty .Values.admissionPolicies.tokenRequest.apiServerAudiences) -}}
{{- fail "admissionPolicies.tokenRequest.apiServerAudiences must list the apiserver's audiences (--api-audiences, by default its --service-account-issuer)" -}}
{{- end -}}
{{- if and .Values.changeFeeds.webhook.enabled (not .Values.changeFeeds.webhook.tlsSecretName) -}}
{{- fail "changeFeeds.webhook.enabled needs changeFeeds.webhook.tlsSecretName: a kubernetes.io/tls Secret (tls.crt, tls.key) in the release namespace — the webhook serves HTTPS only" -}}
{{- end -}}
{{- if and .Values.changeFeeds.webhook.enabled (eq (int .Values.changeFeeds.webhook.port) (int .Values.metrics.port)) -}}
{{- fail (printf "changeFeeds.webhook.port must differ from metrics.port (both %v): the webhook has a listener of its own" .Values.metrics.port) -}}
{{- end -}}
{{- if .Values.changeFeeds.vaultAudit.enabled -}}
{{- if not (regexMatch "^(\\[[0-9a-fA-F:]+\\]|[^:\\[\\]]+):[0-9]{1,5}$" (toString .Values.changeFeeds.vaultAudit.listen)) -}}
{{- fail (printf "changeFeeds.vaultAudit.listen must be host:port, like 0.0.0.0:9090, got %q" (toString .Values.changeFeeds.vaultAudit.listen)) -}}
{{- end -}}
{{- $auditPort := int (include "secret-relay.vaultAuditPort" .) -}}
{{- if or (lt $auditPort 1) (gt $auditPort 65535) -}}
{{- fail (printf "changeFeeds.vaultAudit.listen needs a port between 1 and 65535, got %q" .Values.changeFeeds.vaultAudit.listen) -}}
{{- end -}}
{{- if or (eq $auditPort (int .Values.metrics.port)) (and .Values.changeFeeds.webhook.enabled (eq $auditPort (int .Values.changeFeeds.webhook.port))) -}}
{{- fail (printf "changeFeeds.vaultAudit.listen port %v is already taken by metrics.port or changeFeeds.webhook.port" $auditPort) -}}
{{- end -}}
{{- end -}}
{{- if or (lt (int .Values.concurrency) 1) (gt (int .Values.concurrency) 64) -}}
{{- fail (printf "concurrency must be between 1 and 64, got %v" .Values.concurrency) -}}
{{- end -}}
{{- end -}}

{{- define "secret-relay.leaseName" -}}
{{- if .Values.leaderElection.leaseName -}}{{ .Values.leaderElection.leaseName }}
{{- else if eq .Values.controllerClass "default" -}}secret-relay-leader
{{- else -}}secret-relay-leader-{{ .Values.controllerClass }}
{{- end -}}
{{- end -}}

{{- define "secret-relay.hmacKeySecret" -}}
{{- default (printf "%s-hmac-key" (include "secret-relay.fullname" .)) .Values.driftDetection.hmacKeySecret -}}
{{- end -}}

{{/*
CEL: maps A and B (dyn) hold the same entries, except that the keys K… may differ, appear or go.
Called with (list A B K…); A and B are CEL expressions, each K a literal key.
*/}}
{{- define "secret-relay.equalExcept" -}}
{{- $a := index . 0 -}}{{- $b := index . 1 -}}
{{- $keys := list -}}
{{- range (slice . 2) -}}{{- $keys = append $keys (printf "'%s'" .) -}}{{- end -}}
{{- $except := printf "k in [%s]" (join ", " $keys) -}}
{{- if eq (len $keys) 1 -}}{{- $except = printf "k == %s" (first $keys) -}}{{- end -}}
{{- printf "%s.all(k, %s || (k in %s && %s[k] == %s[k])) && %s.all(k, %s || k in %s)" $a $except $b $a $b $b $except $a -}}
{{- end -}}

{{/* CEL: a list of strings as single-quoted literals, comma-separated; refuses quotes and backslashes. */}}
{{- define "secret-relay.celStrings" -}}
{{- $out := list -}}
{{- range . -}}
{{- if or (contains "'" .) (contains "\\" .) -}}
{{- fail (printf "admissionPolicies: %q must not contain quotes or backslashes" .) -}}
{{- end -}}
{{- $out = append $out (printf "'%s'" .) -}}
{{- end -}}
{{- join ", " $out -}}
{{- end -}}


{{/* Port of changeFeeds.vaultAudit.listen (host:port). */}}
{{- define "secret-relay.vaultAuditPort" -}}
{{- regexFind "[0-9]+$" (toString .Values.changeFeeds.vaultAudit.listen) -}}
{{- end -}}
