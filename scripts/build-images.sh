#!/usr/bin/env bash
# Builds tsdapr's container images with buildah (Debian's, running as root, chroot
# isolation) and writes each one as an OCI archive that `ctr -n k8s.io images import` takes.
#
#   scripts/build-images.sh [NAME...]   # build the named images (default: all but sample-app)
#   scripts/build-images.sh --list      # print "NAME REF" for every image and build nothing
#
# Images (REF; archive):
#   pause       localhost/tsdapr/pause:3.10        static scripts/images/pause.c
#   busybox     localhost/tsdapr/busybox:1.35      Debian's busybox-static
#   node-base   localhost/tsdapr/node-base:20      stands in for node:20-bookworm-slim: the host's
#                                                  node + the libraries ldd lists + CA certificates, on busybox
#   node-build  localhost/tsdapr/node-build:20     stands in for node:20-bookworm (node-base + npm + corepack);
#                                                  a build stage only: kept in buildah's storage, no archive
#   go-build    localhost/tsdapr/go-build:<go>     stands in for golang:1.24-bookworm (the host's /usr/local/go);
#                                                  a build stage only, no archive
#   daprd-1.17  localhost/tsdapr/daprd:1.17.5      upstream daprd from scripts/build-go-binaries.sh at /daprd
#   daprd-1.18  localhost/tsdapr/daprd:1.18.1
#   tsdapr      localhost/tsdapr/tsdapr:dev        the repository's Dockerfile, with the three bases above
#   sample-app  localhost/tsdapr/sample-app:dev    samples/apps/Dockerfile on node-base
#
# Only base images are assembled here; the tsdapr image is the repository's own Dockerfile,
# given the local bases as build arguments (GO_BASE, NODE_BUILD_BASE, NODE_BASE).
# Bases and daprd go to $TSDAPR_CACHE/images (default ~/.cache/tsdapr/images) and are rebuilt
# only when their inputs change (the host files they copy, their Dockerfile, this script);
# images of this repository's code go to .tsdapr/images. An archive is rewritten only when
# its image changed. Builds use buildah's layer cache, and bind-mount the host's Go module
# and build caches and pnpm store into RUN steps (TSDAPR_IMAGE_CACHE_MOUNTS=0 to not).
# Bases are built with --timestamp 0, so the same inputs give the same image.
# TSDAPR_IMAGE_NO_CACHE=1 runs every build step again (no layer cache; bases rebuilt).
#
# The last lines of output, one per image built, are machine-readable (e2e/harness/src/images.ts):
#   image NAME REF ARCHIVE BYTES
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
here=$repo/scripts/images
cache=${TSDAPR_CACHE:-$HOME/.cache/tsdapr}
base_dir=$cache/images
repo_dir=$repo/.tsdapr/images

go_version=$(/usr/local/go/bin/go env GOVERSION 2>/dev/null | sed 's/^go//' || true)
declare -A REF=(
  [pause]=localhost/tsdapr/pause:3.10
  [busybox]=localhost/tsdapr/busybox:1.35
  [node-base]=localhost/tsdapr/node-base:20
  [node-build]=localhost/tsdapr/node-build:20
  [go-build]=localhost/tsdapr/go-build:${go_version:-none}
  [daprd-1.17]=localhost/tsdapr/daprd:1.17.5
  [daprd-1.18]=localhost/tsdapr/daprd:1.18.1
  [tsdapr]=localhost/tsdapr/tsdapr:dev
  [sample-app]=localhost/tsdapr/sample-app:dev
)
ORDER=(pause busybox node-base node-build go-build daprd-1.17 daprd-1.18 tsdapr sample-app)
DEFAULT=(pause busybox node-base daprd-1.17 daprd-1.18 tsdapr)
declare -A DEPS=(
  [node-base]=busybox [node-build]=node-base [go-build]=busybox
  [tsdapr]="go-build node-build node-base" [sample-app]=node-base
)
# Build stages only: no archive.
declare -A NO_ARCHIVE=([node-build]=1 [go-build]=1)

if [[ "${1:-}" == "--list" ]]; then
  for name in "${ORDER[@]}"; do echo "$name ${REF[$name]}"; done
  exit 0
fi

die() { echo "build-images: $*" >&2; exit 1; }
log() { echo "build-images: $*" >&2; }
[[ $(id -u) == 0 ]] || die "needs root (buildah runs rootful here)"
command -v buildah >/dev/null || die "buildah is missing (apt-get install buildah)"

requested=("$@")
[[ ${#requested[@]} -gt 0 ]] || requested=("${DEFAULT[@]}")
declare -A want=()
add() {
  [[ -n "${REF[$1]:-}" ]] || die "unknown image '$1' (known: ${ORDER[*]})"
  local dep
  for dep in ${DEPS[$1]:-}; do add "$dep"; done
  want[$1]=1
}
for name in "${requested[@]}"; do add "$name"; done

B=(buildah --storage-driver overlay)
BUILD=("${B[@]}" build --isolation chroot --network host --layers --pull=never --force-rm)
# TSDAPR_IMAGE_NO_CACHE=1: no layer cache (every step runs again), as on a fresh machine.
[[ "${TSDAPR_IMAGE_NO_CACHE:-0}" == 1 ]] && BUILD+=(--no-cache)

mkdir -p "$base_dir" "$repo_dir"
# One build at a time on this machine (stamps and archives are shared).
exec 9>"$base_dir/.lock"
flock 9

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$@" | cut -c1-64; }
# The host's Node installation the node bases are made of.
node_bin=$(readlink -f "$(command -v node)")
global_modules=$(npm root -g 2>/dev/null || echo /usr/lib/node_modules)
image_id() { "${B[@]}" images --no-trunc --noheading --format '{{.ID}}' "$1" 2>/dev/null | head -n1; }
has_image() { [[ -n "$(image_id "$1")" ]]; }

# Copies a dynamically linked program's libraries (as ldd lists them) under ROOTFS.
copy_libs() {
  local rootfs=$1 bin=$2 lib
  for lib in $(ldd "$bin" | grep -o '/[^ ]*\.so[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}
lib_ids() { ldd "$1" | grep -o '/[^ ]*\.so[^ ]*' | while read -r lib; do echo "$lib $(sha "$(readlink -f "$lib")")"; done; }

passwd_files() { # ROOTFS
  mkdir -p "$1/etc"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$1/etc/group"
}
ca_certs() { # ROOTFS
  mkdir -p "$1/etc/ssl/certs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"
}

# The pnpm version package.json pins (packageManager), and the host's pnpm of that version.
pinned_pnpm() { node -p 'require(process.argv[1]).packageManager.replace(/^pnpm@/, "").replace(/\+.*$/, "")' "$repo/package.json"; }
host_pnpm_dir() {
  local dir want have
  want=$(pinned_pnpm)
  for dir in "$global_modules/pnpm" "$(dirname "$(dirname "$(readlink -f "$(command -v pnpm || echo /nonexistent/x/y)")")")"; do
    have=$(node -p 'const p = require(process.argv[1] + "/package.json"); p.name === "pnpm" ? p.version : ""' "$dir" 2>/dev/null || true)
    if [[ "$have" == "$want" ]]; then echo "$dir"; return; fi
  done
  die "node-build needs the host's pnpm $want (package.json packageManager) installed with npm install -g pnpm@$want (as scripts/dev.sh does); found '${have:-none}'"
}

# inputs NAME: what a base is made of; a change rebuilds it.
inputs() {
  cat "$repo/scripts/build-images.sh" "$here/$1.Dockerfile" 2>/dev/null || true
  case $1 in
    pause) cat "$here/pause.c"; gcc --version | head -n1 ;;
    busybox) sha /bin/busybox ;;
    node-base) sha "$node_bin"; lib_ids "$node_bin"; sha /etc/ssl/certs/ca-certificates.crt ;;
    node-build) cat "$global_modules/npm/package.json" "$global_modules/corepack/package.json" "$(host_pnpm_dir)/package.json" ;;
    go-build) cat /usr/local/go/VERSION; sha /usr/local/go/bin/go; sha /etc/ssl/certs/ca-certificates.crt ;;
    daprd-*) sha "$(daprd_binary "$1")"; lib_ids "$(daprd_binary "$1")"; sha /etc/ssl/certs/ca-certificates.crt ;;
  esac
  # A base's key includes its own base's key.
  local dep
  for dep in ${DEPS[$1]:-}; do cat "$base_dir/$dep.inputs" 2>/dev/null || true; done
}

daprd_binary() {
  case $1 in
    daprd-1.17) bash "$repo/scripts/build-go-binaries.sh" --print | sed -n 's/^daprd=//p' ;;
    daprd-1.18) echo "$cache/daprd-1.18.1/daprd" ;;
  esac
}

# assemble NAME CONTEXT: the root file system a base's Dockerfile copies (CONTEXT/rootfs).
assemble() {
  local name=$1 rootfs=$2/rootfs applet
  mkdir -p "$rootfs"
  case $name in
    pause)
      gcc -static -Os -s -o "$rootfs/pause" "$here/pause.c"
      ;;
    busybox)
      [[ -x /bin/busybox ]] || die "busybox is missing (apt-get install busybox-static)"
      mkdir -p "$rootfs"/{bin,usr/bin,tmp,root,home/nonroot}
      chmod 1777 "$rootfs/tmp"; chmod 700 "$rootfs/root"
      cp /bin/busybox "$rootfs/bin/busybox"
      for applet in $(/bin/busybox --list); do
        [[ "$applet" == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
      done
      ln -s ../../bin/busybox "$rootfs/usr/bin/env" # for #!/usr/bin/env scripts (npm, corepack)
      passwd_files "$rootfs"
      ;;
    node-base)
      mkdir -p "$rootfs/usr/local/bin"
      strip -o "$rootfs/usr/local/bin/node" "$node_bin"
      copy_libs "$rootfs" "$node_bin"
      ca_certs "$rootfs"
      printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
      ;;
    node-build)
      mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/bin"
      local mod
      for mod in npm corepack; do
        [[ -d $global_modules/$mod ]] || die "the host's node has no $mod in $global_modules"
        cp -a "$global_modules/$mod" "$rootfs/usr/local/lib/node_modules/"
      done
      ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
      ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
      ln -s ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/local/bin/corepack"
      # The pinned pnpm, from the host, already in corepack's cache: corepack never downloads
      # it (this machine's registry proxy strips the npm signatures corepack checks).
      local pnpm_dir pnpm_version
      pnpm_dir=$(host_pnpm_dir)
      pnpm_version=$(pinned_pnpm)
      local seeded=$rootfs/usr/local/share/corepack/v1/pnpm/$pnpm_version
      mkdir -p "$(dirname "$seeded")"
      cp -a "$pnpm_dir" "$seeded"
      node -e '
        const [dir, version] = process.argv.slice(1);
        const fs = require("fs"), crypto = require("crypto");
        const pkg = JSON.parse(fs.readFileSync(dir + "/package.json", "utf8"));
        const bin = Object.fromEntries(Object.entries(pkg.bin).map(([k, v]) => [k, "./" + v.replace(/^\.\//, "")]));
        const hash = "sha512." + crypto.createHash("sha512").update(fs.readFileSync(dir + "/package.json")).digest("hex");
        fs.writeFileSync(dir + "/.corepack", JSON.stringify({ locator: { name: "pnpm", reference: version }, bin, hash }));
      ' "$seeded" "$pnpm_version"
      ;;
    go-build)
      [[ -x /usr/local/go/bin/go ]] || die "Go is missing at /usr/local/go"
      mkdir -p "$rootfs/usr/local" "$rootfs/go/bin" "$rootfs/go/src"
      chmod -R 1777 "$rootfs/go"
      cp -a /usr/local/go "$rootfs/usr/local/go"
      ca_certs "$rootfs"
      ;;
    daprd-*)
      local bin
      bin=$(daprd_binary "$name")
      strip -o "$rootfs/daprd" "$bin"
      copy_libs "$rootfs" "$bin"
      passwd_files "$rootfs"
      ca_certs "$rootfs"
      mkdir -p "$rootfs/tmp"; chmod 1777 "$rootfs/tmp"
      ;;
  esac
}

# logged NAME DIR COMMAND...: runs a build with its output in DIR/NAME.build.log, shown if it fails.
logged() {
  local name=$1 log_file=$2/$1.build.log
  shift 2
  if ! "$@" >"$log_file" 2>&1; then
    tail -n 60 "$log_file" >&2
    die "$name: the build failed (whole output: $log_file)"
  fi
}

# build_base NAME: assembles and builds a base unless its inputs are unchanged.
build_base() {
  local name=$1 ref=${REF[$1]} key ctx dockerfile=$here/$1.Dockerfile args=()
  if [[ $name == daprd-* ]]; then
    dockerfile=$here/daprd.Dockerfile
    local bin
    bin=$(daprd_binary "$name")
    if [[ ! -x "$bin" ]]; then
      log "$bin is missing; building it (scripts/build-go-binaries.sh, many minutes the first time)"
      ONLY=daprd bash "$repo/scripts/build-go-binaries.sh" >&2
    fi
    [[ -x "$bin" ]] || die "no daprd at $bin"
  fi
  key=$( (inputs "$name"; cat "$dockerfile") | sha)
  if [[ "${TSDAPR_IMAGE_NO_CACHE:-0}" != 1 && "$(cat "$base_dir/$name.inputs" 2>/dev/null)" == "$key" ]] && has_image "$ref"; then
    log "$name: up to date ($ref)"
    return
  fi
  ctx=$work/$name
  mkdir -p "$ctx"
  assemble "$name" "$ctx"
  case $name in
    node-base) args+=(--build-arg "BUSYBOX_BASE=${REF[busybox]}" --build-arg "NODE_VERSION=$("$node_bin" --version | sed 's/^v//')") ;;
    node-build) args+=(--build-arg "NODE_BASE=${REF[node-base]}") ;;
    go-build) args+=(--build-arg "BUSYBOX_BASE=${REF[busybox]}" --build-arg "GO_VERSION=$go_version") ;;
  esac
  logged "$name" "$base_dir" "${BUILD[@]}" --timestamp 0 -f "$dockerfile" -t "$ref" ${args[@]+"${args[@]}"} "$ctx"
  rm -rf "$ctx"
  echo "$key" >"$base_dir/$name.inputs"
}

# Host caches bind-mounted into the tsdapr build's RUN steps (the Dockerfile does not need them).
cache_mounts() {
  [[ "${TSDAPR_IMAGE_CACHE_MOUNTS:-1}" == 1 ]] || return 0
  local gomod gocache store
  gomod=$(/usr/local/go/bin/go env GOMODCACHE)
  gocache=$(/usr/local/go/bin/go env GOCACHE)
  # The host's store (pnpm store path names its v10 subfolder; the build's pnpm adds that itself).
  store=$(cd "$repo" && pnpm store path 2>/dev/null || true)
  store=${store:+$(dirname "$store")}
  store=${store:-$HOME/.local/share/pnpm/store}
  mkdir -p "$gomod" "$gocache" "$store" "$cache/images/pnpm-config"
  # pnpm (in the build stage, as root) reads its global config from ~/.config/pnpm/rc.
  printf 'store-dir=/pnpm-store\n' >"$cache/images/pnpm-config/rc"
  echo "-v $gomod:/go/pkg/mod -v $gocache:/root/.cache/go-build -v $store:/pnpm-store -v $cache/images/pnpm-config:/root/.config/pnpm:ro"
}

build_repo_image() {
  local name=$1 ref=${REF[$1]}
  case $name in
    tsdapr)
      # shellcheck disable=SC2046
      logged "$name" "$repo_dir" "${BUILD[@]}" $(cache_mounts) -f "$repo/Dockerfile" -t "$ref" \
        --build-arg "GO_BASE=${REF[go-build]}" \
        --build-arg "NODE_BUILD_BASE=${REF[node-build]}" \
        --build-arg "NODE_BASE=${REF[node-base]}" \
        "$repo"
      ;;
    sample-app)
      [[ -f "$repo/samples/apps/Dockerfile" ]] || die "sample-app: samples/apps/Dockerfile is missing"
      logged "$name" "$repo_dir" "${BUILD[@]}" -f "$repo/samples/apps/Dockerfile" -t "$ref" \
        --build-arg "NODE_BASE=${REF[node-base]}" "$repo/samples/apps"
      ;;
  esac
}

# archive NAME DIR: writes DIR/NAME.tar unless it already holds this image.
archive() {
  local name=$1 dir=$2 ref=${REF[$1]} id file
  file=$dir/$name.tar
  id=$(image_id "$ref")
  if [[ -f "$file" && "$(cat "$file.id" 2>/dev/null)" == "$id" ]]; then return; fi
  rm -f "$file" "$file.id"
  "${B[@]}" push --quiet --format oci "$ref" "oci-archive:$file.partial:$ref" >/dev/null
  mv "$file.partial" "$file"
  echo "$id" >"$file.id"
}

total_start=$(date +%s)
results=()
for name in "${ORDER[@]}"; do
  [[ -n "${want[$name]:-}" ]] || continue
  start=$(date +%s)
  case $name in
    tsdapr | sample-app) dir=$repo_dir; log "$name: building ${REF[$name]}"; build_repo_image "$name" ;;
    *) dir=$base_dir; build_base "$name" ;;
  esac
  if [[ -z "${NO_ARCHIVE[$name]:-}" ]]; then
    archive "$name" "$dir"
    bytes=$(stat -c %s "$dir/$name.tar")
    log "$name: ${REF[$name]} $dir/$name.tar $((bytes / 1000000)) MB ($(($(date +%s) - start)) s)"
    if [[ " ${requested[*]} " == *" $name "* ]]; then results+=("image $name ${REF[$name]} $dir/$name.tar $bytes"); fi
  else
    log "$name: ${REF[$name]} (build stage, no archive) ($(($(date +%s) - start)) s)"
  fi
done
log "done in $(($(date +%s) - total_start)) s"
[[ ${#results[@]} -eq 0 ]] || printf '%s\n' "${results[@]}"
