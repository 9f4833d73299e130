# Sourced by the image scripts: podman/buildah configured through files in a temporary
# directory and the environment variables that point at them, never /etc/containers.
#   runtime runc        crun refuses the v1 "hybrid" cgroup hierarchy of these machines
#   cgroupfs            there is no systemd to manage cgroups
#   default_ulimits     within the hard limits of open files (20000 here) and processes;
#                       podman's defaults exceed them and runc then fails to set rlimits
#   storage             persistent under ~/.cache/chat-backend/podman so that warm builds reuse
#                       layers; the run root on /run (tmpfs) with the lock state
#   registries          none: every image is local, so nothing is ever pulled
# No API socket is started (testcontainers would find one and try to pull from a registry).
podman_root="${CHAT_BACKEND_PODMAN_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend/podman}"
podman_conf_dir="$(mktemp -d "${TMPDIR:-/tmp}/chat-backend-podman-conf.XXXXXX")"
trap 'rm -rf "$podman_conf_dir"' EXIT
mkdir -p "$podman_root/storage"
nofile_hard="$(ulimit -Hn)"
[ "$nofile_hard" = unlimited ] && nofile_hard=1048576
nofile=$(( nofile_hard < 16384 ? nofile_hard : 16384 ))
# Even a value equal to the hard limit is refused (EPERM) when runc applies it, so stay under.
nproc_hard="$(ulimit -Hu)"
[ "$nproc_hard" = unlimited ] && nproc_hard=1048576
nproc=$(( nproc_hard / 2 < 32768 ? nproc_hard / 2 : 32768 ))
cat > "$podman_conf_dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$podman_root/events.log"
EOF
cat > "$podman_conf_dir/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$podman_root/storage"
runroot = "/run/chat-backend-podman"
EOF
cat > "$podman_conf_dir/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"
EOF
export CONTAINERS_CONF="$podman_conf_dir/containers.conf"
export CONTAINERS_STORAGE_CONF="$podman_conf_dir/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$podman_conf_dir/registries.conf"
