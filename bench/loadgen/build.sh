#!/usr/bin/env bash
# Builds the streaming bench's Go harness (fake model server + load client) into a cache
# keyed by its sources, and prints the binary's absolute path on stdout (logs on stderr).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/loadgen"
key="$(cat "$here"/go.mod "$here"/go.sum "$here"/*.go | sha256sum | cut -c1-16)"
bin="$cache_root/$key/loadgen"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "[loadgen] go is not installed (the bench harness is built with it)" >&2; exit 1; }
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -modcacherw"
(cd "$here" && go build -trimpath -o "$bin.partial" .) >&2
mv "$bin.partial" "$bin"
echo "$bin"
