#!/usr/bin/env bash
# podman with every piece of its state under one directory, so that tests leave the
# host as they found it:  test/deploy/podman.sh STATE_DIR [podman arguments...]
#
# Two quirks of these hosts, both verified: crun refuses the hybrid cgroup layout, so
# the runtime is runc; podman's default nofile ulimit is above the host's hard limit,
# so containers get the host's hard limit for open files and 4096 processes.
set -euo pipefail
state="${1:?usage: podman.sh STATE_DIR [podman arguments...]}"
shift
mkdir -p "$state"/{storage,run,tmp,networks,volumes}
state="$(cd "$state" && pwd)"

# Verified on these hosts: a limit above the host's hard limit (podman's nofile default)
# or an nproc above 32768 (podman's root default is 1048576) makes runc fail with EPERM.
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576

if [ ! -f "$state/containers.conf" ]; then
  cat >"$state/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$state/events.log"
tmp_dir = "$state/tmp"
volume_path = "$state/volumes"

[network]
network_config_dir = "$state/networks"
CONF
  cat >"$state/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$state/run"
CONF
  # No registry is searched: every image here is built or imported locally.
  cat >"$state/registries.conf" <<CONF
unqualified-search-registries = []
short-name-mode = "disabled"
CONF
fi

export CONTAINERS_CONF="$state/containers.conf"
export CONTAINERS_STORAGE_CONF="$state/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$state/registries.conf"
export TMPDIR="$state/tmp"
exec podman --root "$state/storage" --runroot "$state/run" --runtime runc \
  --cgroup-manager cgroupfs --events-backend file --tmpdir "$state/tmp" "$@"
