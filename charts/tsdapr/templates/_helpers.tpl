{{/*
Shared helpers. Component templates call them with a dict:
  root      the chart's top-level context ($)
  name      the workload name (dapr-sentry, dapr-placement-server, ...)
  component sentry | operator | placement | injector | scheduler
  values    the component's values block
*/}}

{{/* Labels on every object (called with the root context). */}}
{{- define "tsdapr.labels" -}}
{{- include "tsdapr.labelSet" (dict "root" . "own" dict "valuesKey" "dapr_config") -}}
{{- end -}}

{{/* Labels of a component's objects: the shared ones plus name, component and upstream's `app`.
The upstream subchart whose `component` value global.k8sLabels templates see: .labelsFrom, else .values' block. */}}
{{- define "tsdapr.componentLabels" -}}
{{- $own := dict "app" .name "app.kubernetes.io/name" .name "app.kubernetes.io/component" .component -}}
{{- $key := .labelsFrom | default (get (dict "sentry" "dapr_sentry" "operator" "dapr_operator" "placement" "dapr_placement" "injector" "dapr_sidecar_injector" "scheduler" "dapr_scheduler") .component) -}}
{{- include "tsdapr.labelSet" (dict "root" .root "own" $own "valuesKey" $key) -}}
{{- end -}}

{{/* The label map: ours, then global.labels, then upstream's global.k8sLabels (each value a template, as
upstream: tpl with .Values.component set to the upstream subchart's `component`). Later ones win. */}}
{{- define "tsdapr.labelSet" -}}
{{- $root := .root -}}
{{- $labels := dict "app.kubernetes.io/part-of" "dapr" "app.kubernetes.io/managed-by" $root.Release.Service "app.kubernetes.io/version" (toString $root.Values.global.tag) "helm.sh/chart" (printf "%s-%s" $root.Chart.Name $root.Chart.Version) -}}
{{- $labels = mergeOverwrite $labels .own ($root.Values.global.labels | default dict) -}}
{{- with $root.Values.global.k8sLabels -}}
{{- $block := index $root.Values $.valuesKey | default dict -}}
{{- $values := merge (dict "component" ($block.component | default "")) $root.Values -}}
{{- $ctx := dict "Values" $values "Release" $root.Release "Chart" $root.Chart "Capabilities" $root.Capabilities "Template" $root.Template -}}
{{- range $k, $v := . -}}
{{- $_ := set $labels $k (tpl (toString $v) $ctx) -}}
{{- end -}}
{{- end -}}
{{- toYaml $labels -}}
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

{{/* A service's image: upstream's image.name (injectorImage.name for the injector) when it is a full
reference (contains "/"), as upstream; otherwise the one tsdapr image. Called with a component context. */}}
{{- define "tsdapr.serviceImage" -}}
{{- $image := ternary .values.injectorImage .values.image (eq .component "injector") | default dict -}}
{{- if and $image.name (contains "/" $image.name) -}}
{{- $image.name -}}
{{- else -}}
{{- include "tsdapr.image" .root -}}
{{- end -}}
{{- end -}}

{{/* runAsNonRoot of a service: upstream's runAsNonRoot (the scheduler's securityContext.runAsNonRoot); default true. */}}
{{- define "tsdapr.runAsNonRoot" -}}
{{- if hasKey .values "runAsNonRoot" -}}
{{- .values.runAsNonRoot -}}
{{- else if and .values.securityContext (hasKey .values.securityContext "runAsNonRoot") -}}
{{- .values.securityContext.runAsNonRoot -}}
{{- else -}}
true
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
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ trim . }}{{ end }}
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
  runAsNonRoot: {{ include "tsdapr.runAsNonRoot" . }}
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
  {{- /* podAnnotations (ours) and upstream's deploymentAnnotations / statefulsetAnnotations: pod annotations, as upstream. */}}
  {{- with merge (dict) (.values.podAnnotations | default dict) (.values.deploymentAnnotations | default dict) (.values.statefulsetAnnotations | default dict) }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* Container settings shared by every service (image, security context, probes, common ports). */}}
{{- define "tsdapr.containerCommon" -}}
{{- $g := .root.Values.global -}}
image: {{ include "tsdapr.serviceImage" . }}
imagePullPolicy: {{ $g.imagePullPolicy }}
command: ["node", "packages/{{ .component }}/dist/main.bundle.mjs"]
securityContext:
  runAsNonRoot: {{ include "tsdapr.runAsNonRoot" . }}
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
  {{- with $g.seccompProfile }}
  seccompProfile:
    type: {{ . }}
  {{- end }}
{{- /* A component's own livenessProbe/readinessProbe fields (upstream's) win over the global ones; in debug mode
both probes wait debug.initialDelaySeconds, as upstream. */}}
{{- $liveness := merge (deepCopy (.values.livenessProbe | default dict)) $g.liveness }}
{{- $readiness := merge (deepCopy (.values.readinessProbe | default dict)) $g.readiness }}
{{- if and .values.debug .values.debug.enabled }}
{{- $liveness = merge (dict "initialDelaySeconds" .values.debug.initialDelaySeconds) $liveness }}
{{- $readiness = merge (dict "initialDelaySeconds" .values.debug.initialDelaySeconds) $readiness }}
{{- end }}
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
{{- if and .values.debug .values.debug.enabled }}
- name: debug
  containerPort: {{ .values.debug.port }}
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
{{- /* Upstream's debug mode: the Node inspector on debug.port. */}}
{{- $nodeOptions := .values.nodeOptions | default "" }}
{{- if and .values.debug .values.debug.enabled }}
{{- $nodeOptions = printf "%s --inspect=0.0.0.0:%v" $nodeOptions .values.debug.port | trim }}
{{- end }}
{{- with $nodeOptions }}
- name: NODE_OPTIONS
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := .values.extraEnvVars }}
- name: {{ $name | quote }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Upstream's global.extraVolumeMounts.<service> and global.extraVolumes.<service>. */}}
{{- define "tsdapr.extraVolumeMounts" -}}
{{- with index (.root.Values.global.extraVolumeMounts | default dict) .component }}
{{ toYaml . }}
{{- end }}
{{- end -}}
{{- define "tsdapr.extraVolumes" -}}
{{- with index (.root.Values.global.extraVolumes | default dict) .component }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Annotations of a control-plane ServiceAccount: upstream's dapr_rbac.serviceAccount.<service>.annotations. */}}
{{- define "tsdapr.serviceAccountAnnotations" -}}
{{- $sa := index (.root.Values.dapr_rbac.serviceAccount | default dict) .component | default dict -}}
{{- with $sa.annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
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

{{/* Upstream values accepted without effect that this release sets away from upstream's default, one line each
(NOTES.txt lists them; README.md's "Upstream 1.17 values" table has every one). */}}
{{- define "tsdapr.withoutEffect" -}}
{{- $v := .Values -}}
{{- $raft := "Raft: tsdapr's placement elects its leader on a Lease and keeps no log" -}}
{{- $unused := "unused by upstream's templates too" -}}
{{- $ignored := "the scheduler accepts and ignores it" -}}
{{- $checks := list
  (list "global.argoRolloutServiceReconciler.enabled" $v.global.argoRolloutServiceReconciler.enabled false "tsdapr's operator has no Argo Rollouts service reconciler")
  (list "global.operator.watchdogCanPatchPodLabels" $v.global.operator.watchdogCanPatchPodLabels false "tsdapr's operator has no watchdog")
  (list "dapr_operator.watchInterval" $v.dapr_operator.watchInterval "0" "tsdapr's operator has no watchdog")
  (list "dapr_operator.maxPodRestartsPerMinute" $v.dapr_operator.maxPodRestartsPerMinute 20 "tsdapr's operator has no watchdog")
  (list "dapr_placement.ports.raftRPCPort" $v.dapr_placement.ports.raftRPCPort 8201 $raft)
  (list "dapr_placement.cluster.forceInMemoryLog" $v.dapr_placement.cluster.forceInMemoryLog false $raft)
  (list "dapr_placement.cluster.logStorePath" $v.dapr_placement.cluster.logStorePath "/var/run/dapr/raft-log" $raft)
  (list "dapr_placement.cluster.logStoreWinPath" $v.dapr_placement.cluster.logStoreWinPath "C:\\\\raft-log" $raft)
  (list "dapr_placement.volumeclaims.storageSize" $v.dapr_placement.volumeclaims.storageSize "1Gi" $raft)
  (list "dapr_placement.volumeclaims.storageClassName" $v.dapr_placement.volumeclaims.storageClassName nil $raft)
  (list "dapr_placement.maxActorApiLevel" $v.dapr_placement.maxActorApiLevel 10 "deprecated upstream; no actor API levels")
  (list "dapr_placement.minActorApiLevel" $v.dapr_placement.minActorApiLevel 0 "deprecated upstream; no actor API levels")
  (list "dapr_rbac.secretReader.enabled" $v.dapr_rbac.secretReader.enabled false (printf "no secret-reader Role for the default service account of %s: tsdapr grants nothing to application service accounts; grant it yourself" $v.dapr_rbac.secretReader.namespace))
  (list "dapr_scheduler.cluster.etcdDataDirWinPath" $v.dapr_scheduler.cluster.etcdDataDirWinPath "C:\\\\dapr-scheduler" "tsdapr runs on Linux only")
  (list "dapr_scheduler.etcdInitialElectionTickAdvance" $v.dapr_scheduler.etcdInitialElectionTickAdvance false $ignored)
  (list "dapr_scheduler.etcdMetrics" $v.dapr_scheduler.etcdMetrics "basic" $ignored)
  (list "dapr_scheduler.workers" $v.dapr_scheduler.workers 2048 $ignored)
  (list "dapr_sentry.tls.trustDomain" $v.dapr_sentry.tls.trustDomain "cluster.local" (printf "%s (sentry's trust domain is global.mtls.controlPlaneTrustDomain)" $unused))
-}}
{{- range $block := list "dapr_operator" "dapr_placement" "dapr_scheduler" "dapr_sentry" -}}
{{- $checks = append $checks (list (printf "%s.ports.protocol" $block) (index $v $block "ports" "protocol") "TCP" (printf "%s (the Service ports are TCP)" $unused)) -}}
{{- end -}}
{{- range $block := list "dapr_operator" "dapr_placement" "dapr_scheduler" "dapr_sentry" "dapr_sidecar_injector" -}}
{{- range $key := list "nameOverride" "fullnameOverride" -}}
{{- $checks = append $checks (list (printf "%s.%s" $block $key) (index $v $block $key) "" $unused) -}}
{{- end -}}
{{- end -}}
{{- range $c := $checks -}}
{{- if ne (toString (index $c 1)) (toString (index $c 2)) }}
   - {{ index $c 0 }}={{ index $c 1 }}: {{ index $c 3 }}
{{- end -}}
{{- end -}}
{{- end -}}
