#!/usr/bin/env bash
# What the deploy tests (test/deploy/) need on the machine, idempotent; as root.
#   podman, buildah, runc  build the Dockerfile and run the image (crun refuses these hosts'
#                          hybrid cgroups, so runc is the runtime; see podman.sh)
#   debootstrap            the offline debian:bookworm-slim base (see base-images.sh)
#   systemd                systemd-analyze verify / security for the unit
#   libcap2-bin, util-linux  capsh, setpriv: run the daemon with the unit's capabilities
#   prometheus             promtool (also in scripts/setup.sh)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "test/deploy/setup.sh: run as root" >&2
  exit 1
fi
packages=(podman buildah runc debootstrap systemd libcap2-bin util-linux prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'deploy setup: installing %s\n' "${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
