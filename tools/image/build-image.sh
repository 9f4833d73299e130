#!/usr/bin/env bash
# Builds the project's image from its Dockerfile, unchanged, with podman and without any
# registry, and writes it and the cluster's other images as docker archives for
# `ctr images import`. Prints `name=value` lines on stdout (logs go to stderr):
#   image=localhost/chat-backend:TAG    app=<archive of it>
#   pause-image=... pause=<archive>     pg-image=... pg=<archive>
#
#   tools/image/build-image.sh TAG [OUT_DIR]     (OUT_DIR default: the podman cache root)
#
# The Dockerfile's FROM node:20-bookworm-slim is the local base of build-bases.sh, tagged
# under the name the Dockerfile asks for. podman keeps its layers under
# ~/.cache/chat-backend/podman, so a warm build only redoes what changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tag="${1:?usage: build-image.sh TAG [OUT_DIR]}"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"
out_dir="${2:-$podman_root/archives}"
mkdir -p "$out_dir"
log() { echo "[image] $*" >&2; }

declare -A bases
while IFS='=' read -r k v; do bases[$k]="$v"; done < <("$here/build-bases.sh" node pg pause)

exec 8>"$podman_root/.lock"
flock 8

# Imports a base rootfs tarball once per digest (the digest is in the file name).
import_base() { # archive, name, extra --change flags...
  local archive="$1" name="$2"; shift 2
  local digest_tag; digest_tag="$(basename "$archive" .tar)"
  if ! podman image exists "localhost/chat-backend-base:$digest_tag"; then
    log "importing $archive as $name"
    podman import "$@" "$archive" "localhost/chat-backend-base:$digest_tag" >/dev/null
  fi
  podman tag "localhost/chat-backend-base:$digest_tag" "$name"
}

import_base "${bases[node]}" docker.io/library/node:20-bookworm-slim \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$(node --version | cut -c2-)" --change 'CMD ["node"]'
pg_image="localhost/chat-backend-postgres:15"
import_base "${bases[pg]}" "$pg_image" \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'USER 100:102'
pause_image="localhost/chat-backend-pause:3"
import_base "${bases[pause]}" "$pause_image" --change 'ENTRYPOINT ["/pause", "-P"]' --change 'USER 65535:65535'

image="localhost/chat-backend:$tag"
start=$(date +%s)
# Host network for the build's `npm ci`: no CNI network (and its iptables rules) is created.
podman build --pull=never --network=host --layers -t "$image" -f "$repo/Dockerfile" "$repo" >&2
log "built $image in $(( $(date +%s) - start ))s"

save() { # image, archive name
  local archive="$out_dir/$2.tar" id
  id="$(podman image inspect --format '{{.Id}}' "$1")"
  # Re-save only when the image changed since the archive was written.
  if [ ! -f "$archive" ] || [ "$(cat "$archive.id" 2>/dev/null)" != "$id:$1" ]; then
    rm -f "$archive"
    podman save --format docker-archive -o "$archive" "$1" >&2
    echo "$id:$1" > "$archive.id"
  fi
  echo "$archive"
}
echo "image=$image"
echo "app=$(save "$image" "app-$tag")"
echo "pg-image=$pg_image"
echo "pg=$(save "$pg_image" pg)"
echo "pause-image=$pause_image"
echo "pause=$(save "$pause_image" pause)"
