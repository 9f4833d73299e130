#!/usr/bin/env bash
# Builds nats-server from its Go module (github.com/nats-io/nats-server/v2, fetched through the
# Go module proxy and checked against the Go checksum database) into a cache outside the
# repository, and prints the absolute path of the binary on stdout (logs go to stderr).
# The first run builds (a minute or two on 2 cores); later runs return at once.
#
#   tools/nats/build.sh          NATS_SERVER_VERSION overrides the pinned version
#
# Environment: CHAT_BACKEND_NATS_CACHE overrides the cache root
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/nats).
set -euo pipefail

version="${NATS_SERVER_VERSION:-v2.15.3}"
cache_root="${CHAT_BACKEND_NATS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/nats}"
dir="$cache_root/$version"
bin="$dir/bin/nats-server"
log() { echo "[nats-build] $*" >&2; }
die() { log "$*"; exit 1; }

complete() { [ -f "$dir/.complete" ] && [ -x "$bin" ]; }
if complete; then echo "$bin"; exit 0; fi

command -v go >/dev/null || die "go is not installed (nats-server is built from its Go module)"
mkdir -p "$cache_root"
# Several test files (and vitest workers) may ask at once: one builds, the rest wait.
exec 9>"$cache_root/.lock"
flock 9
if complete; then echo "$bin"; exit 0; fi

# Never let the module's toolchain line download another Go: only the installed one is allowed.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -modcacherw"
export GOPATH="$cache_root/gopath"
tmp="$dir.partial"
rm -rf "$tmp"
mkdir -p "$tmp/bin"
start=$(date +%s)
log "building nats-server $version into $dir"
# `go install module@version` builds exactly what the module's own go.sum pins.
GOBIN="$tmp/bin" go install -trimpath -ldflags "-s -w" "github.com/nats-io/nats-server/v2@$version" >&2
"$tmp/bin/nats-server" --version >&2 || die "the built nats-server does not run"
echo "$(( $(date +%s) - start ))" > "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
# The module cache is only needed to build; it is hundreds of MB.
go clean -modcache >&2 || true
rm -rf "$GOPATH"
log "built nats-server $version in $(cat "$dir/.complete")s"
echo "$bin"
