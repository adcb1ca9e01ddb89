#!/usr/bin/env bash
# Copies the generated CRDs (crds/*.yaml, from `pnpm generate:crds`) into the
# chart as templates, so `helm upgrade` upgrades them (files in a chart's
# crds/ folder are installed once and never upgraded). Each copy gets
#   - helm.sh/resource-policy: keep, so `helm uninstall` never deletes a CRD
#     and with it every custom resource;
#   - the release namespace as the conversion webhook's service namespace.
#
#   charts/sync-crds.sh          rewrite charts/tsdapr/templates/crds/
#   charts/sync-crds.sh --check  exit 1 when the chart's copies are stale
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/.." && pwd)/crds"
dest="$here/tsdapr/templates/crds"

if [[ ! -d "$src" ]] || ! compgen -G "$src/*.yaml" >/dev/null; then
  echo "sync-crds: no CRDs in $src (run pnpm generate:crds first)" >&2
  exit 2
fi

render() { # $1: a CRD file; prints the template
  if grep -q '{{' "$1"; then
    echo "sync-crds: $1 contains '{{', which Helm would read as a template" >&2
    exit 2
  fi
  echo "# Copied from crds/$(basename "$1") by charts/sync-crds.sh. Do not edit; run the script."
  awk '
    /^# Generated from/ { next }
    # metadata.annotations: add the keep policy (into an existing block if there is one).
    /^metadata:$/ { print; inmeta = 1; next }
    inmeta && /^  annotations:$/ { print; print "    helm.sh/resource-policy: keep"; added = 1; next }
    inmeta && /^[^ ]/ {
      if (!added) { print "  annotations:"; print "    helm.sh/resource-policy: keep" }
      inmeta = 0; added = 1
    }
    # The conversion webhook lives in the release namespace.
    /^  conversion:$/ { inconv = 1 }
    inconv && /^ +namespace: / { sub(/namespace: .*/, "namespace: {{ .Release.Namespace }}") }
    { print }
  ' "$1"
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for file in "$src"/*.yaml; do
  render "$file" > "$tmp/$(basename "$file")"
done

if [[ "${1:-}" == "--check" ]]; then
  if ! diff -r "$tmp" "$dest" >/dev/null 2>&1; then
    echo "sync-crds: charts/tsdapr/templates/crds differs from crds/; run charts/sync-crds.sh" >&2
    diff -r "$tmp" "$dest" >&2 || true
    exit 1
  fi
  echo "sync-crds: chart CRDs are up to date"
  exit 0
fi

rm -rf "$dest"
mkdir -p "$dest"
cp "$tmp"/*.yaml "$dest"/
echo "sync-crds: wrote $(ls "$dest" | wc -l) CRD templates to ${dest#"$here"/}"
