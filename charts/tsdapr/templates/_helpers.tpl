{{/*
Shared helpers. Component templates call them with a dict:
  root      the chart's top-level context ($)
  name      the workload name (dapr-sentry, dapr-placement-server, ...)
  component sentry | operator | placement | injector | scheduler
  values    the component's values block
*/}}

{{/* Labels on every object. */}}
{{- define "tsdapr.labels" -}}
app.kubernetes.io/part-of: dapr
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Values.global.tag | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- with .Values.global.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of a component's objects: the shared ones plus name, component and upstream's `app`. */}}
{{- define "tsdapr.componentLabels" -}}
{{ include "tsdapr.selectorLabels" . }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
{{ include "tsdapr.labels" .root }}
{{- end -}}

{{/* Selector: upstream's `app: <name>`. */}}
{{- define "tsdapr.selectorLabels" -}}
app: {{ .name }}
{{- end -}}

{{/* The control-plane namespace's SPIFFE ID of a service: spiffe://<td>/ns/<ns>/dapr-<svc>. */}}
{{- define "tsdapr.spiffeId" -}}
{{- printf "spiffe://%s/ns/%s/dapr-%s" .root.Values.global.mtls.controlPlaneTrustDomain .root.Release.Namespace .service -}}
{{- end -}}

{{- define "tsdapr.sentryAddress" -}}
{{- if .Values.global.mtls.sentryAddress -}}
{{- .Values.global.mtls.sentryAddress -}}
{{- else -}}
{{- printf "dapr-sentry.%s.svc%s:443" .Release.Namespace .Values.global.dnsSuffix -}}
{{- end -}}
{{- end -}}

{{/* The one tsdapr image. */}}
{{- define "tsdapr.image" -}}
{{- printf "%s/%s:%s" .Values.global.registry .Values.global.imageName .Values.global.tag -}}
{{- end -}}

{{/* The daprd image the injector gives sidecars. */}}
{{- define "tsdapr.sidecarImage" -}}
{{- $image := .Values.dapr_sidecar_injector.image -}}
{{- if contains "/" $image.name -}}
{{- $image.name -}}
{{- else -}}
{{- printf "%s/%s:%s" $image.registry $image.name $image.tag -}}
{{- end -}}
{{- end -}}

{{/* Replicas of a Deployment: global.ha.replicaCount in HA mode, else the component's. */}}
{{- define "tsdapr.replicas" -}}
{{- if .root.Values.global.ha.enabled -}}
{{- .root.Values.global.ha.replicaCount -}}
{{- else -}}
{{- .values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/* The scheduler's etcd peers: <id>=http://<pod>.dapr-scheduler-server.<ns>.svc<dnsSuffix>:<peer port> of every replica. */}}
{{- define "tsdapr.schedulerInitialCluster" -}}
{{- $v := .Values.dapr_scheduler -}}
{{- $peers := list -}}
{{- range $i := until (int $v.replicaCount) -}}
{{- $peers = append $peers (printf "dapr-scheduler-server-%d=http://dapr-scheduler-server-%d.dapr-scheduler-server.%s.svc%s:%d" $i $i $.Release.Namespace $.Values.global.dnsSuffix (int $v.ports.etcdGRPCPeerPort)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* Placement is HA when the whole chart is, or on its own. */}}
{{- define "tsdapr.placementHA" -}}
{{- if or .Values.global.ha.enabled .Values.dapr_placement.ha -}}true{{- end -}}
{{- end -}}

{{- define "tsdapr.imagePullSecrets" -}}
{{- $secrets := .Values.global.imagePullSecrets -}}
{{- if kindIs "string" $secrets -}}
{{- $secrets = splitList "," $secrets | compact -}}
{{- end -}}
{{- if $secrets }}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ trim . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every control-plane pod (below spec:). */}}
{{- define "tsdapr.podCommon" -}}
{{- $g := .root.Values.global -}}
serviceAccountName: {{ .serviceAccount }}
automountServiceAccountToken: true
enableServiceLinks: false
{{- include "tsdapr.imagePullSecrets" .root }}
{{- with $g.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  runAsNonRoot: true
  {{- with .fsGroup }}
  fsGroup: {{ . }}
  {{- end }}
  {{- with $g.seccompProfile }}
  seccompProfile:
    type: {{ . }}
  {{- end }}
{{- $nodeSelector := merge (deepCopy (.values.nodeSelector | default dict)) ($g.nodeSelector | default dict) }}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $tolerations := concat ($g.tolerations | default list) (.values.tolerations | default list) }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - key: kubernetes.io/os
              operator: In
              values: [{{ $g.daprControlPlaneOs | quote }}]
            {{- with $g.daprControlPlaneArch }}
            - key: kubernetes.io/arch
              operator: In
              values: [{{ . | quote }}]
            {{- end }}
  {{- if .ha }}
  podAntiAffinity:
    {{- if and .allowRequired (eq $g.ha.podAntiAffinityPolicy "requiredDuringSchedulingIgnoredDuringExecution") }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchLabels:
            {{- include "tsdapr.selectorLabels" . | nindent 12 }}
        topologyKey: {{ $g.ha.topologyKey }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          labelSelector:
            matchLabels:
              {{- include "tsdapr.selectorLabels" . | nindent 14 }}
          topologyKey: {{ $g.ha.topologyKey }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* Pod metadata of a control-plane pod. */}}
{{- define "tsdapr.podMetadata" -}}
labels:
  {{- include "tsdapr.componentLabels" . | nindent 2 }}
annotations:
  dapr.io/control-plane: {{ .component }}
  {{- if .root.Values.global.prometheus.enabled }}
  prometheus.io/scrape: "true"
  prometheus.io/port: {{ .root.Values.global.prometheus.port | quote }}
  prometheus.io/path: /
  {{- end }}
  {{- with .values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Container settings shared by every service (image, security context, probes, common ports). */}}
{{- define "tsdapr.containerCommon" -}}
{{- $g := .root.Values.global -}}
image: {{ include "tsdapr.image" .root }}
imagePullPolicy: {{ $g.imagePullPolicy }}
command: ["node", "packages/{{ .component }}/dist/main.bundle.mjs"]
securityContext:
  runAsNonRoot: true
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
  {{- with $g.seccompProfile }}
  seccompProfile:
    type: {{ . }}
  {{- end }}
{{- /* A component's own livenessProbe/readinessProbe values (the scheduler's, as upstream) win over the global ones. */}}
{{- $liveness := .values.livenessProbe | default $g.liveness }}
{{- $readiness := .values.readinessProbe | default $g.readiness }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .values.healthzPort }}
  initialDelaySeconds: {{ $liveness.initialDelaySeconds }}
  periodSeconds: {{ $liveness.periodSeconds }}
  failureThreshold: {{ $liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .values.healthzPort }}
  initialDelaySeconds: {{ $readiness.initialDelaySeconds }}
  periodSeconds: {{ $readiness.periodSeconds }}
  failureThreshold: {{ $readiness.failureThreshold }}
{{- with .values.resources }}
resources:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Common flags: health, metrics, logging. */}}
{{- define "tsdapr.commonArgs" -}}
- --healthz-port={{ .values.healthzPort }}
- --enable-metrics={{ .root.Values.global.prometheus.enabled }}
- --metrics-port={{ .root.Values.global.prometheus.port }}
- --log-level={{ .values.logLevel }}
- --log-as-json={{ .root.Values.global.logAsJson }}
{{- end -}}

{{/* Common container ports: health and metrics. */}}
{{- define "tsdapr.commonPorts" -}}
- name: healthz
  containerPort: {{ .values.healthzPort }}
  protocol: TCP
{{- if .root.Values.global.prometheus.enabled }}
- name: metrics
  containerPort: {{ .root.Values.global.prometheus.port }}
  protocol: TCP
{{- end }}
{{- end -}}

{{/* Env every service gets: its namespace and pod name. */}}
{{- define "tsdapr.commonEnv" -}}
- name: NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- with .values.nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{/* Mounts of a control-plane pod that talks to sentry: trust anchors, sentry token, /tmp. */}}
{{- define "tsdapr.identityVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: dapr-trust-bundle
  mountPath: /var/run/secrets/dapr.io/tls
  readOnly: true
{{- if .root.Values.global.mtls.mountSentryVolume }}
- name: dapr-identity-token
  mountPath: /var/run/secrets/dapr.io/sentrytoken
  readOnly: true
{{- end }}
{{- end -}}

{{- define "tsdapr.identityVolumes" -}}
- name: tmp
  emptyDir: {}
- name: dapr-trust-bundle
  configMap:
    name: dapr-trust-bundle
{{- if .root.Values.global.mtls.mountSentryVolume }}
- name: dapr-identity-token
  projected:
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 600
          audience: {{ include "tsdapr.spiffeId" (dict "root" .root "service" "sentry") }}
{{- end }}
{{- end -}}

{{/* Trust anchors key name in the bundle. */}}
{{- define "tsdapr.caKey" -}}{{ .Values.global.issuerFilenames.ca | default "ca.crt" }}{{- end -}}
{{- define "tsdapr.certKey" -}}{{ .Values.global.issuerFilenames.cert | default "issuer.crt" }}{{- end -}}
{{- define "tsdapr.keyKey" -}}{{ .Values.global.issuerFilenames.key | default "issuer.key" }}{{- end -}}

{{/* A PodDisruptionBudget in HA mode. */}}
{{- define "tsdapr.pdb" -}}
{{- $d := .root.Values.global.ha.disruption -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .pdbName }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "tsdapr.componentLabels" . | nindent 4 }}
spec:
  {{- if $d.minimumAvailable }}
  minAvailable: {{ $d.minimumAvailable }}
  {{- else }}
  maxUnavailable: {{ $d.maximumUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "tsdapr.selectorLabels" . | nindent 6 }}
{{- end -}}
