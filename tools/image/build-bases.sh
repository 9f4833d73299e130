#!/usr/bin/env bash
# Makes, without any container registry, the base images the real-node suite needs, as
# root-filesystem tarballs cached under ~/.cache/chat-backend/images, keyed by a digest of
# everything that goes into them. Prints one `name=/absolute/path.tar` line per image.
#
#   node   stands in for node:20-bookworm-slim (the Dockerfile's FROM): a debootstrap
#          --variant=minbase bookworm root from Debian's archive as apt is configured, plus this
#          machine's Node.js 20 and npm where the official image keeps them (/usr/local), a
#          `node` user and group with id 1000, and the host's CA bundle trusted by npm (egress
#          here goes through a TLS-inspecting proxy; the build's `npm ci` must pass it).
#   pg     the same bookworm root with Debian's postgresql-15, for the in-cluster database.
#   pause  the pod sandbox image: Debian's static catatonit in pause mode.
#
# Environment: CHAT_BACKEND_IMAGE_CACHE overrides the cache root.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${CHAT_BACKEND_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/images}"
mkdir -p "$cache_root/debs"
log() { echo "[image-bases] $*" >&2; }

mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
mirror="${mirror:-http://deb.debian.org/debian}"
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
ca_bundle=/etc/ssl/certs/ca-certificates.crt

# Bump when a step below changes what gets built.
recipe=1
digest_of() {
  { echo "recipe=$recipe name=$1 mirror=$mirror"; cat "$here/build-bases.sh"
    "$node_bin" --version; cat "$npm_dir/package.json" | sha256sum; sha256sum < "$ca_bundle"
    sha256sum < /usr/bin/catatonit; } | sha256sum | cut -c1-12
}

# debootstrap leaves apt's lists and caches in the root; the official slim images do not ship
# them, and they would only make the tarball larger.
slim_root() {
  local root="$1"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
}

bootstrap() { # root, extra packages
  local root="$1" include="$2"
  debootstrap --variant=minbase ${include:+--include="$include"} --cache-dir="$cache_root/debs" \
    bookworm "$root" "$mirror" >&2
  # debootstrap copies the host's resolv.conf and hostname; the runtime provides both.
  rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
}

build_node() {
  local root="$1"
  bootstrap "$root" ""
  install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  install -D -m 0644 "$ca_bundle" "$root/usr/local/share/chat-backend/host-ca.crt"
  # npm's global config lives under its prefix, /usr/local here, as in the official image.
  install -D -m 0644 /dev/null "$root/usr/local/etc/npmrc"
  echo "cafile=/usr/local/share/chat-backend/host-ca.crt" > "$root/usr/local/etc/npmrc"
  slim_root "$root"
}

build_pg() {
  local root="$1"
  bootstrap "$root" "postgresql-15"
  # The package's postinst made a cluster for the host's systemd layout; the pod makes its
  # own in its volume.
  rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql/15"
  slim_root "$root"
}

build_pause() {
  local root="$1"
  mkdir -p "$root"
  install -m 0755 /usr/bin/catatonit "$root/pause"
}

build_image() {
  local name="$1" out tmp
  out="$cache_root/$name-$(digest_of "$name").tar"
  if [ -f "$out" ]; then echo "$out"; return; fi
  tmp="$(mktemp -d "$cache_root/.$name.XXXXXX")"
  local start; start=$(date +%s)
  log "building $name base into $out"
  "build_$name" "$tmp/root"
  tar --numeric-owner -C "$tmp/root" -cf "$tmp/image.tar" .
  mv "$tmp/image.tar" "$out"
  rm -rf "$tmp"
  find "$cache_root" -maxdepth 1 -name "$name-*.tar" ! -path "$out" -delete
  log "built $name in $(( $(date +%s) - start ))s"
  echo "$out"
}

exec 9>"$cache_root/.lock"
flock 9
for name in "${@:-node pg pause}"; do
  for n in $name; do echo "$n=$(build_image "$n")"; done
done
