#!/usr/bin/env bash
# The front door: prepares a fresh machine (pnpm at the pinned version, the
# workspace's packages, the Go-built binaries in ~/.cache/tsdapr) and then runs
#   bash scripts/dev.sh start   # local cluster with a node, the chart installed, the sample apps
#   bash scripts/dev.sh test    # every test, against a real kube-apiserver and daprd
#   bash scripts/dev.sh test-under-load  # the same, while stress-ng keeps 2 cores busy
#   bash scripts/dev.sh bench   # the benchmarks
#   bash scripts/dev.sh setup   # only the preparation
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [[ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]]; then
  echo "dev.sh: installing pnpm $pnpm_version"
  npm install -g "pnpm@$pnpm_version" >/dev/null
fi
# Debian packages, gathered so that one apt-get update serves them all.
apt_packages=()
if ! command -v openssl >/dev/null; then
  echo "dev.sh: installing openssl (tests use it as an independent verifier)"
  apt_packages+=(openssl)
fi
if [[ "${1:-}" == test-under-load ]] && ! command -v stress-ng >/dev/null; then
  echo "dev.sh: installing stress-ng (test-under-load keeps the cores busy with it)"
  apt_packages+=(stress-ng)
fi
# A real node (e2e/harness/src/node: containerd, runc, the CNI plugins, kube-proxy's iptables and
# conntrack) and the images it runs (buildah, busybox-static). Only as root: a node needs root
# anyway, and elsewhere the tests that need one say why they skip.
if [[ "$(id -u)" == 0 ]] && command -v dpkg-query >/dev/null; then
  node_missing=()
  for package in containerd runc containernetworking-plugins iptables conntrack buildah busybox-static; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == *"install ok installed"* ]] || node_missing+=("$package")
  done
  if (( ${#node_missing[@]} > 0 )); then
    echo "dev.sh: installing ${node_missing[*]} (a real Kubernetes node for the tests)"
    apt_packages+=("${node_missing[@]}")
  fi
fi
if (( ${#apt_packages[@]} > 0 )); then
  (apt-get update && apt-get install -y --no-install-recommends "${apt_packages[@]}") >/dev/null
fi
pnpm install --frozen-lockfile
bash scripts/build-go-binaries.sh

case "${1:-}" in
  setup) ;;
  # A cluster with a real node, the chart installed and the sample apps (processes where no node can run).
  start) pnpm build && node e2e/chart/dist/start-on-node.js ;;
  test) pnpm test ;;
  test-under-load)
    # The suite as CI runs it on a busy machine: timing assumptions show up as failures here.
    stress-ng --cpu 2 --quiet &
    load_pid=$!
    # The load stops whatever happens: pass, fail, Ctrl-C.
    trap 'kill "$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true' EXIT
    echo "dev.sh: stress-ng --cpu 2 running (pid $load_pid); running the suite under load"
    pnpm test
    ;;
  bench) pnpm bench ;;
  *) echo "usage: bash scripts/dev.sh setup|start|test|test-under-load|bench" >&2; exit 2 ;;
esac
