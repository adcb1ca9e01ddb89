#!/usr/bin/env bash
# Builds the Go programs the tests run (etcd, kube-apiserver, kube-controller-manager,
# helm, upstream daprd) from the pinned modules under e2e/, into a cache outside the
# clone. A binary already in the cache is never rebuilt, so only the first run is slow.
#
#   scripts/build-go-binaries.sh            # build whatever is missing
#   scripts/build-go-binaries.sh --print    # print NAME=PATH for each binary
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${TSDAPR_CACHE:-$HOME/.cache/tsdapr}
# Go's own build cache is kept too; the module cache is where Go always keeps it.
export GOFLAGS="${GOFLAGS:-} -trimpath -buildvcs=false"

kube_version=1.34.4
etcd_version=3.6.4
helm_version=3.19.5
daprd_version=1.17.5
daprd_next_version=1.18.1
coredns_version=1.15.0
kube_ldflags="-X=k8s.io/component-base/version.gitVersion=v${kube_version} -X=k8s.io/component-base/version.gitMajor=1 -X=k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$kube_version") -X=k8s.io/component-base/version.gitTreeState=clean"

# name version module-dir build-tags package ldflags ("-" for no tags).
# daprd refuses to start without a components tag; stablecomponents holds the
# stable ones, the in-memory state store and pub/sub among them, and builds far
# faster than allcomponents.
targets=(
  "etcd ${etcd_version} e2e/cluster - ./etcd -X=go.etcd.io/etcd/api/v3/version.Version=${etcd_version}"
  "kube-apiserver ${kube_version} e2e/cluster - k8s.io/kubernetes/cmd/kube-apiserver ${kube_ldflags}"
  "kube-controller-manager ${kube_version} e2e/cluster - k8s.io/kubernetes/cmd/kube-controller-manager ${kube_ldflags}"
  "kubelet ${kube_version} e2e/cluster - k8s.io/kubernetes/cmd/kubelet ${kube_ldflags}"
  "kube-proxy ${kube_version} e2e/cluster - k8s.io/kubernetes/cmd/kube-proxy ${kube_ldflags}"
  "kube-scheduler ${kube_version} e2e/cluster - k8s.io/kubernetes/cmd/kube-scheduler ${kube_ldflags}"
  "kubectl ${kube_version} e2e/cluster - k8s.io/kubernetes/cmd/kubectl ${kube_ldflags}"
  "coredns ${coredns_version} e2e/coredns - . -X=github.com/coredns/coredns/coremain.GitCommit=v${coredns_version}"
  "helm ${helm_version} e2e/helm - helm.sh/helm/v3/cmd/helm -X=helm.sh/helm/v3/internal/version.version=v${helm_version}"
  "daprd ${daprd_version} e2e/daprd-1.17 stablecomponents github.com/dapr/dapr/cmd/daprd -X=github.com/dapr/dapr/pkg/buildinfo.version=${daprd_version}"
  "upstream-sentry ${daprd_version} e2e/daprd-1.17 - github.com/dapr/dapr/cmd/sentry -X=github.com/dapr/dapr/pkg/buildinfo.version=${daprd_version}"
  "upstream-placement ${daprd_version} e2e/daprd-1.17 - github.com/dapr/dapr/cmd/placement -X=github.com/dapr/dapr/pkg/buildinfo.version=${daprd_version}"
  "upstream-operator ${daprd_version} e2e/daprd-1.17 - github.com/dapr/dapr/cmd/operator -X=github.com/dapr/dapr/pkg/buildinfo.version=${daprd_version}"
  "upstream-injector ${daprd_version} e2e/daprd-1.17 - github.com/dapr/dapr/cmd/injector -X=github.com/dapr/dapr/pkg/buildinfo.version=${daprd_version}"
  "daprd ${daprd_next_version} e2e/daprd-1.18 stablecomponents github.com/dapr/dapr/cmd/daprd -X=github.com/dapr/dapr/pkg/buildinfo.version=${daprd_next_version}"
  "upstream-injector ${daprd_next_version} e2e/daprd-1.18 - github.com/dapr/dapr/cmd/injector -X=github.com/dapr/dapr/pkg/buildinfo.version=${daprd_next_version}"
)

only=${ONLY:-}
print=false
[[ "${1:-}" == "--print" ]] && print=true

for target in "${targets[@]}"; do
  read -r name version dir tags pkg ldflags <<<"$target"
  [[ "$tags" == "-" ]] && tags=""
  out="$cache/$name-$version/$name"
  # --print lists the pinned binary of each name (the first entry of a name).
  if $print; then [[ " ${printed:-} " == *" $name "* ]] || echo "$name=$out"; printed="${printed:-} $name"; continue; fi
  if [[ -n "$only" && " $only " != *" $name "* ]]; then continue; fi
  if [[ -x "$out" ]]; then
    echo "go-binaries: $name $version cached at $out"
    continue
  fi
  echo "go-binaries: building $name $version (first time only; this can take many minutes)"
  start=$(date +%s)
  mkdir -p "$(dirname "$out")"
  (cd "$repo/$dir" && go build -tags "$tags" -ldflags "$ldflags" -o "$out.partial" "$pkg")
  mv "$out.partial" "$out"
  echo "go-binaries: built $name $version in $(( $(date +%s) - start ))s"
done
