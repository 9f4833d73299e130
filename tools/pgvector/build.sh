#!/usr/bin/env bash
# Builds pgvector from source into a PostgreSQL installation (default: Debian's PostgreSQL 15)
# so the document search's pgvector path is tested for real. Debian bookworm has no pgvector
# package and GitHub is out of reach, but the Go module proxy serves any public repository at
# a tag, checksummed by the Go checksum database: that is where the source comes from.
# Needs pg_config with server headers (postgresql-server-dev-15), make, a C compiler, Go,
# and write access to the installation (root). Idempotent; prints the installed version.
#
#   tools/pgvector/build.sh            PG_CONFIG=/path/to/pg_config overrides the target
set -euo pipefail

version="${PGVECTOR_VERSION:-0.8.0}"
pg_config="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
cache="${CHAT_BACKEND_PGVECTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/pgvector}"
log() { echo "[pgvector-build] $*" >&2; }
die() { log "$*"; exit 1; }

[ -x "$pg_config" ] || die "no pg_config at $pg_config (apt-get install postgresql-server-dev-15)"
server_include="$("$pg_config" --includedir-server)"
[ -f "$server_include/postgres.h" ] || die "no server headers in $server_include (apt-get install postgresql-server-dev-15)"
share="$("$pg_config" --sharedir)/extension"
lib="$("$pg_config" --pkglibdir)"

installed() { [ -f "$lib/vector.so" ] && grep -q "default_version = '$version'" "$share/vector.control" 2>/dev/null; }
if installed; then echo "$version"; exit 0; fi

command -v go >/dev/null || die "go is not installed (needed to fetch the source from the Go module proxy)"
command -v make >/dev/null || die "make is not installed"
[ -w "$lib" ] && [ -w "$share" ] || die "$lib and $share are not writable (run as root)"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if installed; then echo "$version"; exit 0; fi

export GOTOOLCHAIN=local GOPATH="$cache/gopath" GOFLAGS=-modcacherw
log "fetching github.com/pgvector/pgvector@v$version through the Go module proxy"
dir="$(cd "$cache" && go mod download -json "github.com/pgvector/pgvector@v$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
[ -f "$dir/vector.control" ] || die "the module download has no vector.control (got '$dir')"

src="$cache/src-$version"
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
log "building with $pg_config"
# OPTFLAGS="": no -march=native, so the library runs on any CPU of this architecture.
make -C "$src" -j"$(nproc)" PG_CONFIG="$pg_config" OPTFLAGS="" with_llvm=no >&2
make -C "$src" install PG_CONFIG="$pg_config" with_llvm=no >&2
installed || die "pgvector $version did not install into $lib / $share"
log "installed pgvector $version"
echo "$version"
