#!/usr/bin/env bash
# Builds the control-plane binaries for the k8s test harness from Go modules into a cache
# outside the repository, and prints one `name=/absolute/path` line per binary on stdout
# (everything else goes to stderr). A component is rebuilt only when its version or its
# go.mod/go.sum change, so the first run builds (tens of minutes on 2 cores) and later
# runs return at once.
#
#   tools/k8s/build.sh [kubernetes] [etcd] [kwok] [helm] [kube-node] [coredns]
#   (default: the first four, which every k8s suite needs; kube-node and coredns are the
#   real-node suite's kubelet, kube-proxy, kubectl and cluster DNS)
#
# Environment: CHAT_BACKEND_K8S_CACHE overrides the cache root
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/k8s).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=/dev/null
source "$here/versions.env"

cache_root="${CHAT_BACKEND_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/k8s}"
mkdir -p "$cache_root"

# Never let a go.mod's toolchain line download another Go: only the installed one is allowed.
export GOTOOLCHAIN=local
# -mod=readonly: build exactly what the committed go.sum pins.
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
# Two cores: one package at a time per core; more only thrashes memory and the scheduler.
export GOMAXPROCS="${GOMAXPROCS:-$(nproc)}"

components=("$@")
[ ${#components[@]} -eq 0 ] && components=(kubernetes etcd kwok helm)

log() { echo "[k8s-build] $*" >&2; }

binaries_of() {
  case "$1" in
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler" ;;
    kube-node) echo "kubelet kube-proxy kubectl" ;;
    etcd) echo "etcd" ;;
    kwok) echo "kwok" ;;
    helm) echo "helm" ;;
    coredns) echo "coredns" ;;
    *) log "unknown component $1"; exit 2 ;;
  esac
}

version_of() {
  case "$1" in
    kubernetes|kube-node) echo "$K8S_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
  esac
}

# Bump when a flag or step below changes what gets built, so that old cache entries are ignored.
recipe=1

# The cache key carries the version for people and a digest of the module files and of the
# recipe for correctness, so that a changed pin or flag never reuses a stale binary.
cache_dir_of() {
  local c="$1" digest
  digest="$( (echo "recipe=$recipe"; cat "$here/$c/go.mod" "$here/$c/go.sum") | sha256sum | cut -c1-12)"
  echo "$cache_root/$c-$(version_of "$c")-$digest"
}

ldflags_of() {
  local c="$1" v minor date
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  case "$c" in
    kubernetes|kube-node)
      v="$K8S_VERSION"; minor="$(echo "$v" | cut -d. -f2)"
      local f=""
      # hack/lib/version.sh sets these in both packages; `kubectl version` and /version read them.
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        f+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
        f+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
      done
      echo "-s -w$f" ;;
    coredns) echo "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" ;;
    etcd) echo "-s -w" ;; # etcd's version is a constant of the module itself
    kwok) echo "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION#v}" ;;
    helm)
      # Helm's Makefile derives the default Kubernetes version of `helm template`/`lint`
      # from the client-go it is built with.
      minor="$(cd "$here/helm" && go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)"
      echo "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor" \
        "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" ;;
  esac
}

packages_of() {
  case "$1" in
    kubernetes|kube-node) for b in $(binaries_of "$1"); do echo "k8s.io/kubernetes/cmd/$b"; done ;;
    etcd|coredns) echo "." ;;
    kwok) echo "sigs.k8s.io/kwok/cmd/kwok" ;;
    helm) echo "helm.sh/helm/v3/cmd/helm" ;;
  esac
}

is_complete() {
  local dir="$1" c="$2" b
  [ -f "$dir/.complete" ] || return 1
  for b in $(binaries_of "$c"); do [ -x "$dir/bin/$b" ] || return 1; done
  if [ "$c" = kwok ]; then [ -d "$dir/stages" ] || return 1; fi
}

build_component() {
  local c="$1" dir tmp start
  dir="$(cache_dir_of "$c")"
  if is_complete "$dir" "$c"; then return 0; fi
  tmp="$dir.partial"
  rm -rf "$tmp"
  mkdir -p "$tmp/bin"
  start=$(date +%s)
  log "building $c $(version_of "$c") into $dir (this takes a while the first time)"
  # shellcheck disable=SC2046
  (cd "$here/$c" && go build -trimpath -ldflags "$(ldflags_of "$c")" -o "$tmp/bin/" $(packages_of "$c"))
  if [ "$c" = kwok ]; then
    # The kwok binary ships no stages of its own (kwokctl adds them); keep the defaults
    # of this very kwok release beside it: nodes become Ready and renew their Leases, pods
    # become Ready, Job pods complete, deleted pods go away.
    local src
    src="$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
    mkdir -p "$tmp/stages"
    cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
      "$src/pod/fast/pod-ready.yaml" "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" "$tmp/stages/"
  fi
  echo "$(( $(date +%s) - start ))" > "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  # Older builds of this component (another version or recipe) are dead weight: hundreds of MB.
  find "$cache_root" -maxdepth 1 -name "$c-*" ! -path "$dir" -exec rm -rf {} +
  log "built $c in $(cat "$dir/.complete")s"
}

# Several test files (and several vitest workers) may ask at once: one builds, the rest wait.
exec 9>"$cache_root/.lock"
flock 9

for c in "${components[@]}"; do
  build_component "$c"
done

for c in "${components[@]}"; do
  for b in $(binaries_of "$c"); do echo "$b=$(cache_dir_of "$c")/bin/$b"; done
  if [ "$c" = kwok ]; then echo "kwok-stages=$(cache_dir_of kwok)/stages"; fi
done
