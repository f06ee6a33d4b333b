{{- define "modelmonitor.name" -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "modelmonitor.labels" -}}
app.kubernetes.io/name: modelmonitor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "modelmonitor.selector" -}}
app.kubernetes.io/name: modelmonitor
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "modelmonitor.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The rules the operator needs in a namespace it watches (a Role there, or cluster-wide). */}}
{{- define "modelmonitor.namespacedRules" -}}
- apiGroups: [modelmonitor.io]
  resources: [modelmonitors, modelrollouts]
  verbs: [get, list, watch, patch]
- apiGroups: [modelmonitor.io]
  resources: [modelmonitors/status, monitorruns/status, modelrollouts/status]
  verbs: [get, patch]
- apiGroups: [modelmonitor.io]
  resources: [monitorruns]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [create]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [create]
- apiGroups: [""]
  resources: [secrets, services]
  verbs: [get]
- apiGroups: [kubernetes.dask.org]
  resources: [daskclusters]
  verbs: [get]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, patch]
{{- /* the opt-in routers: the group and resource each router module patches (a test holds them together) */}}
{{- $routers := dict "istio" (list "networking.istio.io" "virtualservices") "kserve" (list "serving.kserve.io" "inferenceservices") "seldon" (list "mlops.seldon.io" "experiments") }}
{{- range .Values.rolloutRouters }}
{{- $router := get $routers . }}
- apiGroups: [{{ index $router 0 }}]
  resources: [{{ index $router 1 }}]
  verbs: [get, patch]
{{- end }}
- apiGroups: [kopf.dev]
  resources: [kopfpeerings]
  verbs: [get, list, watch, patch]
{{- end -}}
