#!/usr/bin/env bash
# The front door: prepares a fresh machine (pnpm at the pinned version, the
# workspace's packages, the Go-built binaries in ~/.cache/tsdapr) and then runs
#   bash scripts/dev.sh start   # local cluster + the control plane against it
#   bash scripts/dev.sh test    # every test, against a real kube-apiserver and daprd
#   bash scripts/dev.sh bench   # the benchmarks
#   bash scripts/dev.sh setup   # only the preparation
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [[ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]]; then
  echo "dev.sh: installing pnpm $pnpm_version"
  npm install -g "pnpm@$pnpm_version" >/dev/null
fi
if ! command -v openssl >/dev/null; then
  echo "dev.sh: installing openssl (tests use it as an independent verifier)"
  (apt-get update && apt-get install -y --no-install-recommends openssl) >/dev/null
fi
pnpm install --frozen-lockfile
bash scripts/build-go-binaries.sh

case "${1:-}" in
  setup) ;;
  start) pnpm start ;;
  test) pnpm test ;;
  bench) pnpm bench ;;
  *) echo "usage: bash scripts/dev.sh setup|start|test|bench" >&2; exit 2 ;;
esac
